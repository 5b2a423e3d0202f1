import { randomBytes } from 'node:crypto'

/**
 * What an access record is about: a document connection, an admin API call, a CLI action, another
 * HTTP request (refused before any route: device trust), or sockets cut before they sent a request
 * (the unauthenticated-socket caps, the header timeout, a request the parser refused).
 */
export type AuditAction = 'open' | 'admin-api' | 'cli' | 'http' | 'socket'
export type AuditOutcome = 'admitted' | 'refused'

/**
 * One access decision or admin action. Who is only what a verified token said: a request refused
 * before its token was verified (no token, a bad signature, a bad origin, a full server) is
 * recorded with what is known — its address, the document it asked for, the code — and tenant `-`.
 */
export interface AuditRecord {
  /** Sorts by time: `<15-digit ms>-<8 hex>` (see auditId). */
  readonly id: string
  /** ms since the epoch. */
  readonly at: number
  /** The token's tenant, or UNKNOWN_TENANT. */
  readonly tenant: string
  readonly userId: string | null
  readonly role: string | null
  readonly device: string | null
  /** The client's address as the connection limits see it (X-Forwarded-For only behind a trusted proxy). */
  readonly address: string
  /** `<type>/<id>`, or what the request asked for when it did not name a document; null for none. */
  readonly document: string | null
  readonly action: AuditAction
  /** admin-api and cli online: `POST /admin/reviews/r-1/approve`. */
  readonly route: string | null
  /** cli: the command (`review approve`, `docs revert`). */
  readonly command: string | null
  readonly outcome: AuditOutcome
  /** The refusal's error code; for an admitted admin call that failed, the failure's code. */
  readonly code: string | null
  /**
   * How many refusals this record stands for, when it sums them up (action `socket`: the sockets
   * one address had cut for one code within a minute, from `at`); absent for one.
   */
  readonly count?: number
}

/** The tenant of a refusal before any token was verified: no tenant id can be `-` (TENANT_PATTERN). */
export const UNKNOWN_TENANT = '-'

/** Text from requests (paths, commands, addresses) is cut here: a record stays small whatever is sent. */
export const MAX_FIELD_CHARS = 256

export const clip = (text: string | null | undefined): string | null =>
  text === null || text === undefined ? null : text.length > MAX_FIELD_CHARS ? `${text.slice(0, MAX_FIELD_CHARS - 1)}…` : text

const ID_TIME_DIGITS = 15

/** The id part of a time: every id has the same length, so ids sort by time in every store. */
export const auditTimeKey = (at: number): string => String(Math.max(0, Math.floor(at))).padStart(ID_TIME_DIGITS, '0')

/**
 * Random bits drawn a few kilobytes at a time: one `randomBytes` call per record was the
 * costliest part of recording an admitted connection in a connection storm.
 */
let randomPool = Buffer.alloc(0)
let randomOffset = 0
const random32Hex = (): string => {
  if (randomOffset + 4 > randomPool.byteLength) {
    randomPool = randomBytes(4096)
    randomOffset = 0
  }
  randomOffset += 4
  return randomPool.toString('hex', randomOffset - 4, randomOffset)
}

/** A fresh id for a record at `at`: the time, then 32 random bits (records of one ms stay distinct). */
export const auditId = (at: number): string => `${auditTimeKey(at)}-${random32Hex()}`

/** The id bounds of the records with `from <= at <= to`. */
export const auditIdBounds = (from: number, to: number): { first: string; last: string } => ({
  first: `${auditTimeKey(from)}-00000000`,
  last: `${auditTimeKey(to)}-ffffffff`,
})

export type AuditRecordInput = Omit<AuditRecord, 'id' | 'at'> & { readonly at?: number }

/** A record with its id and time, every text field clipped. */
export const auditRecord = (input: AuditRecordInput, now: number = Date.now()): AuditRecord => {
  const at = input.at ?? now
  return {
    id: auditId(at),
    at,
    tenant: input.tenant,
    userId: clip(input.userId),
    role: clip(input.role),
    device: clip(input.device),
    address: clip(input.address) ?? 'unknown',
    document: clip(input.document),
    action: input.action,
    route: clip(input.route),
    command: clip(input.command),
    outcome: input.outcome,
    code: clip(input.code),
    ...(input.count !== undefined && input.count !== 1 ? { count: input.count } : {}),
  }
}
