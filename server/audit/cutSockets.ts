import type { AuditAppender } from './auditAppender.ts'
import { auditRecord, clip, MAX_FIELD_CHARS, UNKNOWN_TENANT, type AuditAction } from './auditRecord.ts'

/** One summing-up record per address and code covers at most this long. */
export const CUT_SOCKETS_WINDOW_MS = 60_000
/**
 * Records (address and code) summed up per window; cuts from further addresses are summed under
 * OTHER_ADDRESSES. An attacker with a large IPv6 prefix has many addresses: without this bound
 * each would still cost a record a minute.
 */
export const MAX_CUT_ADDRESSES = 1_000
/** The address of the record that sums up the cuts past MAX_CUT_ADDRESSES in a window. */
export const OTHER_ADDRESSES = '(other addresses)'

/** What a summed-up refusal was of: a socket that sent no request, or an upgrade asking for a document. */
export interface CutOf {
  readonly action: AuditAction
  readonly document: string | null
}

const SOCKET: CutOf = { action: 'socket', document: null }

interface Tally {
  readonly address: string
  readonly code: string
  readonly of: CutOf
  /** The first cut of the window. */
  readonly at: number
  count: number
}

/**
 * Refusals only a flood brings about, summed up for the access audit: sockets cut before they sent
 * a request the server could read (the unauthenticated-socket caps, the header timeout, a request
 * the HTTP parser refused) and upgrades refused at the pending-upgrades cap. One refused record
 * (tenant `-`) per address, code (and document asked for) per minute, with the count.
 *
 * Not a record each: cutting them is how the server survives a flood of half-open or junk
 * connections, and a record each would carry that flood into the audit (its buffer would fill and
 * drop the records that matter: the access decisions about real users). Summed up, a flood costs
 * at most MAX_CUT_ADDRESSES records a minute, plus one per code for the other addresses, and the
 * report still shows which address was cut how often and why. Nothing is held per socket; an idle
 * server holds no timer.
 */
export class CutSockets {
  private readonly tallies = new Map<string, Tally>()
  private timer: NodeJS.Timeout | null = null

  constructor(
    private readonly appender: AuditAppender,
    private readonly windowMs: number = CUT_SOCKETS_WINDOW_MS,
    private readonly maxAddresses: number = MAX_CUT_ADDRESSES,
  ) {}

  /** A socket from `address` was cut (or its upgrade refused) for `code` (an ErrorCode). Never waits, never throws. */
  cut(address: string | undefined, code: string, asked: CutOf = SOCKET, now: number = Date.now()): void {
    // Cut to a record's field length here, not only when recorded: a tally must not hold what a
    // request's path can carry (kilobytes) for each of MAX_CUT_ADDRESSES addresses.
    const of = asked.document !== null && asked.document.length > MAX_FIELD_CHARS ? { action: asked.action, document: clip(asked.document) } : asked
    const known = this.tallies.get(tallyKey(address ?? 'unknown', code, of))
    if (known) {
      known.count++
      return
    }
    // Past the bound, what an attacker varies (address, document asked for) is no longer told apart.
    const full = this.tallies.size >= this.maxAddresses
    const summedAddress = full ? OTHER_ADDRESSES : (address ?? 'unknown')
    const summedOf = full ? { action: of.action, document: null } : of
    const key = tallyKey(summedAddress, code, summedOf)
    const tally = this.tallies.get(key)
    if (tally) tally.count++
    else this.tallies.set(key, { address: summedAddress, code, of: summedOf, at: now, count: 1 })
    if (this.timer === null) {
      this.timer = setTimeout(() => this.flush(), this.windowMs)
      this.timer.unref()
    }
  }

  /** Hands the window's records to the appender now (a report, shutdown, or the window's end). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    for (const { address, code, of, at, count } of this.tallies.values()) {
      this.appender.record(auditRecord({ at, tenant: UNKNOWN_TENANT, userId: null, role: null, device: null, address, document: of.document, action: of.action, route: null, command: null, outcome: 'refused', code, count }))
    }
    this.tallies.clear()
  }
}

const tallyKey = (address: string, code: string, of: CutOf): string => JSON.stringify([of.action, of.document, code, address])
