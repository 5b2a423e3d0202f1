import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'

/**
 * How long an awareness state lives without being renewed (y-protocols' `outdatedTimeout`: a stock
 * client renews its state every 15 s, and drops remote states older than 30 s itself).
 */
export const AWARENESS_TIMEOUT_MS = 30_000

/** One awareness client as the relay knows it. */
interface AwarenessEntry<Owner> {
  /** The client's clock: only a higher one (or a removal at the same clock) changes the entry. */
  clock: number
  /** The state as the JSON text it arrived in; null once removed (the clock is kept to refuse replays). */
  json: string | null
  /** Date.now() of the last change (expiry of states, forgetting of removed clients). */
  updatedAt: number
  /** The connection that last set the state; its states are removed when it leaves. */
  owner: Owner | null
}

/**
 * The awareness of one room, as a relay: the server has no awareness state of its own, it keeps each
 * client's last clock and state (as the JSON text it arrived in, never parsed into objects) and
 * rebroadcasts what changed. It follows y-protocols' `applyAwarenessUpdate` and
 * `removeAwarenessStates` exactly where the wire is concerned (which entries change, what is
 * re-encoded, which clock a removal carries), so stock providers cannot tell it from an
 * `Awareness`. It costs nothing until a client sends a state (no timer, no observers: the server
 * sweeps every room with one timer, see `expire`).
 */
export class AwarenessRelay<Owner> {
  private entries: Map<number, AwarenessEntry<Owner>> | null = null

  /** Clients with a state (removed ones excluded). */
  get size(): number {
    let count = 0
    if (this.entries) for (const entry of this.entries.values()) if (entry.json !== null) count++
    return count
  }

  /**
   * Applies an awareness update (already screened by `screenAwarenessUpdate`) from `owner`; returns
   * the client ids to rebroadcast (added, updated or removed), as y-protocols' `update` event lists them.
   */
  apply(update: Uint8Array, owner: Owner, now = Date.now()): number[] {
    const decoder = decoding.createDecoder(update)
    // In y-protocols' order: added, then updated, then removed.
    const added: number[] = []
    const updated: number[] = []
    const removed: number[] = []
    const count = decoding.readVarUint(decoder)
    for (let i = 0; i < count; i++) {
      const client = decoding.readVarUint(decoder)
      const clock = decoding.readVarUint(decoder)
      const text = decoding.readVarString(decoder)
      // JSON.parse(text) === null, without parsing every state: the only JSON texts of null.
      const json = isNullJson(text) ? null : text
      const entry = this.entries?.get(client)
      const currentClock = entry === undefined ? 0 : entry.clock
      if (!(currentClock < clock || (currentClock === clock && json === null && entry !== undefined && entry.json !== null))) continue
      if (entry === undefined) {
        ;(this.entries ??= new Map()).set(client, { clock, json, updatedAt: now, owner: json === null ? null : owner })
        // An unknown client's removal changes nothing anyone knows about: not rebroadcast (as y-protocols).
        if (json !== null) added.push(client)
        continue
      }
      entry.clock = clock
      entry.json = json
      entry.updatedAt = now
      if (json !== null) entry.owner = owner
      ;(json === null ? removed : updated).push(client)
    }
    return added.length + removed.length === 0 ? updated : [...added, ...updated, ...removed]
  }

  /**
   * Would a state of `client` at `clock` change anything? Only a newer clock can (or a removal at
   * the same clock, which needs no check). Stock providers echo every remote state they receive,
   * at its own clock: those echoes are not news, and are not the sender's own state.
   */
  isNewer(client: number, clock: number): boolean {
    return (this.entries?.get(client)?.clock ?? 0) < clock
  }

  /** Removes the states `owner` set (its connection left); returns the removed client ids. */
  removeOwnedBy(owner: Owner, now = Date.now()): number[] {
    const removed: number[] = []
    if (!this.entries) return removed
    for (const [client, entry] of this.entries) {
      if (entry.owner !== owner) continue
      entry.owner = null
      if (entry.json === null) continue
      entry.json = null // at the same clock, as y-protocols removes a remote client
      entry.updatedAt = now
      removed.push(client)
    }
    return removed
  }

  /**
   * Removes states not renewed for `timeoutMs` (a client that vanished without its connection
   * closing, or a client id a connection stopped renewing); returns the removed client ids.
   * Removed clients are forgotten once they have been gone that long too: a replay of their
   * older clock is then no longer refused, which only a message delayed by more than the
   * timeout could exploit, and a busy room does not collect the ids of everyone who ever passed.
   */
  expire(now: number, timeoutMs = AWARENESS_TIMEOUT_MS): number[] {
    const removed: number[] = []
    if (!this.entries) return removed
    for (const [client, entry] of this.entries) {
      if (now - entry.updatedAt < timeoutMs) continue
      if (entry.json === null) {
        this.entries.delete(client)
        continue
      }
      entry.json = null
      entry.owner = null
      entry.updatedAt = now
      removed.push(client)
    }
    if (this.entries.size === 0) this.entries = null
    return removed
  }

  /** The connection whose state `client` currently is, or null (none, or removed). */
  ownerOf(client: number): Owner | null {
    const entry = this.entries?.get(client)
    return entry !== undefined && entry.json !== null ? entry.owner : null
  }

  /** The client ids that have a state (what a joining peer is sent). */
  clients(): number[] {
    const clients: number[] = []
    if (this.entries) for (const [client, entry] of this.entries) if (entry.json !== null) clients.push(client)
    return clients
  }

  /** An awareness update of these clients, as y-protocols' `encodeAwarenessUpdate` writes it. */
  encode(clients: readonly number[]): Uint8Array {
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, clients.length)
    for (const client of clients) {
      const entry = this.entries?.get(client)
      encoding.writeVarUint(encoder, client)
      encoding.writeVarUint(encoder, entry?.clock ?? 0)
      encoding.writeVarString(encoder, entry?.json ?? 'null')
    }
    return encoding.toUint8Array(encoder)
  }
}

const isNullJson = (text: string): boolean => text === 'null' || (text.length > 4 && text.trim() === 'null')
