import * as Y from 'yjs'

/**
 * Decides whether every local change is durable on the server: the `saved` of a document handle.
 * Pure bookkeeping, no I/O: the handle tells it what happened and reads `saved`.
 *
 * Local changes: every update of the Y.Doc whose transaction origin is not the provider,
 * including the state loaded from the local store (it may hold edits the server never got). The
 * server's own updates are durable before it sends them, so they are never tracked.
 *
 * Messages: the sync-step-2 and update messages the client sends on a connection are numbered
 * 1, 2, 3… (the count starts again on each connection). Every ack carries the server's durable
 * state vector and how many of this connection's messages are durable (cumulative, in order).
 *
 * Where each local change travels:
 *  - in update message #n, when the socket was open and the provider sent it at once;
 *  - otherwise (offline, connecting, loaded from the local store) in the next sync step 2 we send,
 *    which carries every struct the server lacks and the document's whole delete set.
 *
 * `saved` needs both:
 *  1. **Counts, for everything.** No local change waits for a sync step 2, and the latest ack of
 *     this connection covers the highest message number that carries a local change. This is what
 *     makes a deletion (which has no id and never moves a state vector) known saved.
 *  2. **State vectors, for inserted content.** Every local struct (client, clock) is below the
 *     latest durable state vector's clock for its client: an ack that does not show the content
 *     saves nothing, whatever its count says.
 *
 * When a connection drops, its unacknowledged messages are lost to us: the changes in them wait
 * for the next connection's sync step 2, which sends them again. A change made offline waits for
 * that sync step 2 even when its structs are already durable: the deletions in it may be new.
 */
export class SavedTracker {
  /** client → clock after the last local struct: the state vector of local content. */
  private readonly local = new Map<number, number>()
  /** client → clock of the server's durable state, from the latest ack (null before the first). */
  private durable: Map<number, number> | null = null
  /** Local changes that no message of the current connection carries yet: they go in the next sync step 2. */
  private waitingForSyncStep2 = false
  /** The highest number of a message of the current connection that carries a local change (0: none). */
  private needed = 0
  /** How many messages of the current connection are durable, from its latest ack. */
  private acked = 0

  /** True when every local change is known to be durable on the server. */
  get saved(): boolean {
    if (this.waitingForSyncStep2 || this.acked < this.needed) return false
    for (const [client, clock] of this.local) {
      if ((this.durable?.get(client) ?? 0) < clock) return false
    }
    return true
  }

  /** The durable state vector (client → clock) of the latest ack, or null before the first. */
  get durableStateVector(): ReadonlyMap<number, number> | null {
    return this.durable
  }

  /**
   * A local change happened. `message`: the number of the update message of the current
   * connection that carries it, or null when no message carries it (yet): it waits for the next
   * sync step 2.
   */
  localUpdate(update: Uint8Array, message: number | null): void {
    for (const [client, clock] of Y.parseUpdateMeta(update).to) {
      if ((this.local.get(client) ?? 0) < clock) this.local.set(client, clock)
    }
    if (message === null) this.waitingForSyncStep2 = true
    else this.needed = Math.max(this.needed, message)
  }

  /** Our sync step 2 went out as message #`message` of the current connection: it carries every change made so far. */
  syncStep2Sent(message: number): void {
    if (!this.waitingForSyncStep2) return
    this.waitingForSyncStep2 = false
    this.needed = Math.max(this.needed, message)
  }

  /** An ack: the server's durable state vector, and the count of this connection's messages that are durable. */
  ack(durableStateVector: Uint8Array, durableMessages: number): void {
    this.durable = Y.decodeStateVector(durableStateVector)
    this.acked = Math.max(this.acked, durableMessages)
  }

  /** The connection closed: what it did not acknowledge goes again in the next connection's sync step 2. */
  disconnected(): void {
    if (this.acked < this.needed) this.waitingForSyncStep2 = true
    this.needed = 0
    this.acked = 0
  }
}
