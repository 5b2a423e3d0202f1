import * as Y from 'yjs'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import type { EventRecord } from '../persistence/eventLog.ts'
import { checkUpdateStructure, type UpdateDependencies } from '../protocol/updateGuard.ts'

/**
 * Who may create structs under each Yjs client id of a document.
 *
 * Yjs trusts the client id in an update: a struct under someone else's id is taken as theirs, and
 * once the document knows a clock of a client, that client's own structs up to it count as already
 * known and are dropped (on the server and, once the update reaches them, in their own replica).
 * So the first writer of a client id in a document owns it there: a user (any number of their
 * connections and devices may go on under it), or the server (compensations, approvals, admin
 * changes), whose ids belong to no user. Only new clock ranges need an owner's say: Yjs skips what
 * it already has.
 *
 * A GC struct claims a clock range without content. Yjs writes one only for deleted content (the
 * children of a deleted type), and always lists it in the same update's delete set, in the update
 * of a transaction as in an encoded state. So a GC reaching past what the server knows must be
 * deleted by the update that brings it; otherwise it is a burnt range nobody wrote (the 19-byte
 * attack: GC, clock 0, length 2^40). A Skip is a gap the update admits to; missingDependencies
 * refuses every update that has one, so it never reaches this check.
 */

/** A client id taken by its first writer: a user id, or null for the server. */
export interface OwnerClaim {
  readonly client: number
  readonly userId: string | null
}

/** The owners of one document's client ids, as stored plus what was claimed since the room loaded. */
export class ClientOwners {
  /** The user each client id belongs to; also names the writers of a conflict (detectConflicts). */
  readonly users = new Map<number, string>()
  /**
   * Client ids the server wrote under: they belong to no user. This and the two below are made
   * when first written: a room holds them as long as it is loaded, and most documents never need them.
   */
  private server: Set<number> | null = null
  /**
   * Client ids an editor's connection showed in awareness before anything was written under them,
   * and whose: kept while the room is loaded (not stored), so an id seen there is not up for grabs
   * by whoever saw it, while its client is offline with edits it has not sent yet.
   */
  private announced: Map<number, string> | null = null
  /** How many ids each connection announced: a stock client has one; a few bound what a hostile one can fill. */
  private announcements: WeakMap<object, number> | null = null

  constructor(claims: readonly OwnerClaim[] = []) {
    this.record(claims)
  }

  has(client: number): boolean {
    return this.users.has(client) || (this.server?.has(client) ?? false)
  }

  get size(): number {
    return this.users.size + (this.server?.size ?? 0)
  }

  /** Records claims (first writer wins: a claim for an owned id changes nothing). */
  record(claims: readonly OwnerClaim[]): void {
    for (const { client, userId } of claims) {
      this.announced?.delete(client)
      if (this.has(client)) continue
      if (userId === null) (this.server ??= new Set()).add(client)
      else this.users.set(client, userId)
    }
  }

  /**
   * The claim to store after the server changed `doc` (a compensation, an approval, an admin
   * change) when that is the first time it wrote structs under the doc's client id; none otherwise
   * (a change that only deleted claims nothing).
   */
  serverClaim(doc: Y.Doc): OwnerClaim[] {
    const client = doc.clientID
    if (this.has(client) || Y.getState(doc.store, client) === 0) return []
    const claim = { client, userId: null }
    this.record([claim])
    return [claim]
  }

  /** `connection` (of `connection.identity.userId`) shows `client` in awareness. */
  announce(client: number, connection: Writer): void {
    if (this.has(client) || this.announced?.has(client)) return
    const count = this.announcements?.get(connection) ?? 0
    if (count >= MAX_ANNOUNCED_PER_CONNECTION) return
    ;(this.announcements ??= new WeakMap()).set(connection, count + 1)
    ;(this.announced ??= new Map()).set(client, connection.identity.userId)
  }

  /** Whom an id belongs to, for a refusal: never the user's name (nobody learns who edits under which id). */
  private refusal(client: number, userId: string): string | null {
    if (this.server?.has(client)) return `client id ${client} is the server's in this document`
    const owner = this.users.get(client)
    if (owner !== undefined) return owner === userId ? null : `client id ${client} belongs to another user in this document`
    const announcer = this.announced?.get(client)
    return announcer === undefined || announcer === userId ? null : `client id ${client} is in use by another user's client`
  }

  /**
   * Checks an update of `userId` against the document before it is applied: the new part of every
   * client's range must be under an id that is the user's or nobody's yet, and every GC reaching
   * past the known clock must be deleted by the update itself. Returns the claims the update makes
   * (record them with its write), or the error to refuse it with.
   *
   * An id nobody wrote under yet that another user's connection announced is refused too (see `announced`).
   */
  check(doc: Y.Doc, userId: string, { brought, gcs, deletes }: UpdateDependencies): { claims: OwnerClaim[] } | { error: CollabError } {
    const claims: OwnerClaim[] = []
    for (const [client, { to }] of brought) {
      const known = Y.getState(doc.store, client)
      if (to <= known) continue // all of it known: Yjs skips it
      const refused = this.refusal(client, userId)
      if (refused !== null) return { error: new CollabError(ErrorCode.ForeignClientId, `${refused}; clocks ${known}…${to - 1} refused`) }
      if (!this.has(client)) claims.push({ client, userId })
    }
    const undeleted = undeletedGcRange(gcs, deletes, (client) => Y.getState(doc.store, client))
    if (undeleted !== null) {
      const { client, from, to } = undeleted
      return {
        error: new CollabError(ErrorCode.UndeletedGcRange, `GC range of client ${client}, clocks ${from}…${to - 1}, is past the known clock and not deleted by the update`),
      }
    }
    return { claims }
  }
}

/** A connection as this module sees it (a Peer, named by shape so the room and this module do not import each other). */
interface Writer {
  readonly identity: { readonly userId: string }
}

const MAX_ANNOUNCED_PER_CONNECTION = 4

/** The write path's step: an update of `peer` against its room's document and the owners of its client ids. */
export const checkClientIds = (
  room: { readonly doc: Y.Doc; readonly clientOwners: ClientOwners },
  peer: Writer,
  dependencies: UpdateDependencies,
): { claims: OwnerClaim[] } | { error: CollabError } => room.clientOwners.check(room.doc, peer.identity.userId, dependencies)

/**
 * The first GC range (its part at or after `known(client)`) that the delete set does not cover, or
 * null. Cost: O(GC structs + delete ranges · log) per update; the delete ranges of a client are
 * sorted and merged only when a GC of that client reaches past the known clock.
 */
export const undeletedGcRange = (
  gcs: readonly number[],
  deletes: readonly number[],
  known: (client: number) => number,
): { client: number; from: number; to: number } | null => {
  let byClient: Map<number, Array<[number, number]>> | null = null
  const deletedRanges = (client: number): Array<[number, number]> => {
    byClient ??= groupRanges(deletes)
    return byClient.get(client) ?? []
  }
  for (let i = 0; i < gcs.length; i += 3) {
    const client = gcs[i]!
    const to = gcs[i + 1]! + gcs[i + 2]!
    const from = Math.max(gcs[i + 1]!, known(client))
    if (from >= to) continue
    if (!covered(deletedRanges(client), from, to)) return { client, from, to }
  }
  return null
}

/** Delete ranges (flat client, clock, length) per client as sorted, merged [from, to) pairs. */
const groupRanges = (deletes: readonly number[]): Map<number, Array<[number, number]>> => {
  const grouped = new Map<number, Array<[number, number]>>()
  for (let i = 0; i < deletes.length; i += 3) {
    const client = deletes[i]!
    let ranges = grouped.get(client)
    if (!ranges) grouped.set(client, (ranges = []))
    ranges.push([deletes[i + 1]!, deletes[i + 1]! + deletes[i + 2]!])
  }
  for (const [client, ranges] of grouped) {
    ranges.sort((a, b) => a[0] - b[0])
    const merged: Array<[number, number]> = []
    for (const range of ranges) {
      const last = merged.at(-1)
      if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1])
      else merged.push([range[0], range[1]])
    }
    grouped.set(client, merged)
  }
  return grouped
}

/** Is [from, to) inside one of the sorted, merged ranges? (Merged: touching ranges are one.) */
const covered = (ranges: ReadonlyArray<[number, number]>, from: number, to: number): boolean => {
  let low = 0
  let high = ranges.length - 1
  while (low <= high) {
    const middle = (low + high) >> 1
    const [start, end] = ranges[middle]!
    if (from < start) high = middle - 1
    else if (from >= end) low = middle + 1
    else return to <= end
  }
  return false
}

/** Events whose structs the server made, under its own client id (the record names who asked for them). */
const SERVER_OUTCOMES: ReadonlySet<EventRecord['outcome']> = new Set(['compensation', 'admin'])

/**
 * The owners a document had before owners were stored: from its event log, whose records carry the
 * user and the update bytes. In log order, the first applied event that brings a client's clocks
 * past what earlier events brought is that client's first writer. Ids that only the retention base
 * knows (pruned events) stay without an owner: their next writer claims them.
 */
export const ownersFromEventLog = (events: readonly EventRecord[]): OwnerClaim[] => {
  const reached = new Map<number, number>()
  const claims: OwnerClaim[] = []
  for (const event of events) {
    if (!event.applied || event.update.byteLength === 0) continue
    const check = checkUpdateStructure(event.update)
    if (!check.ok) continue
    for (const [client, { to }] of check.dependencies.brought) {
      const before = reached.get(client)
      if (before !== undefined && to <= before) continue
      if (before === undefined) claims.push({ client, userId: SERVER_OUTCOMES.has(event.outcome) ? null : event.userId })
      reached.set(client, to)
    }
  }
  return claims
}

/** Owner records: one key per client id (two uint32 halves: the key encoding holds uint32 numbers). */
const OWNERS_NAMESPACE = 'posalpro_client_owners'
const HALF = 2 ** 32
export const ownerKey = (storageName: string, client: number) => [OWNERS_NAMESPACE, storageName, Math.floor(client / HALF), client % HALF]
export const ownerRange = (storageName: string) => ({
  gte: [OWNERS_NAMESPACE, storageName, 0, 0],
  lte: [OWNERS_NAMESPACE, storageName, 0xffffffff, 0xffffffff],
})
/** The value: the owner's user id as JSON, `null` for the server. */
export const encodeOwner = (claim: OwnerClaim): Buffer => Buffer.from(JSON.stringify(claim.userId))
export const decodeOwner = (key: ReadonlyArray<string | number>, value: Uint8Array): OwnerClaim => ({
  client: Number(key[2]) * HALF + Number(key[3]),
  userId: JSON.parse(Buffer.from(value).toString('utf8')) as string | null,
})

/** What is wrong with a stored update whose GC ranges are not all deleted by itself (see undeletedGcRange), or null. */
export const burntRangeIn = ({ gcs, deletes }: UpdateDependencies): string | null => {
  const undeleted = undeletedGcRange(gcs, deletes, () => 0)
  if (undeleted === null) return null
  const { client, from, to } = undeleted
  return `holds a GC range of client ${client} from clock ${from} up to clock ${to} that it does not delete: clocks nobody wrote`
}
