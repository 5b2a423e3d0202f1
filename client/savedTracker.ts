import * as Y from 'yjs'

/** An outgoing message the server acknowledges once it is durable (design §5 "Acks"). */
export type AcknowledgedMessageKind = 'sync-step-2' | 'update'

/**
 * Decides whether every local change is durable on the server: the `saved` of a document handle
 * (design §8). Pure bookkeeping, no I/O: the handle tells it what happened and reads `saved`.
 *
 * Local changes: every update of the Y.Doc whose transaction origin is not the provider,
 * including the state loaded from the local store (it may hold edits the server never got). The
 * server's own updates are durable before it sends them, so they are never tracked.
 *
 * `saved` needs two pieces of evidence:
 *
 * 1. **State vectors, for inserted content.** Every inserted struct has an id (client, clock). An
 *    ack carries the state vector of what is on the server's disk; every local struct must be
 *    below the latest ack's clock for its client.
 *
 * 2. **Acknowledged messages, for everything else.** A deletion has no id and never moves a state
 *    vector, so no ack can name it. Instead: every sync-step-2 / update message the client sends
 *    must be acknowledged, and no local change may be waiting for a message. This relies on acks
 *    pairing up one to one with messages in order, which the connection guarantees by keeping one
 *    message in flight (SendGate). A change is
 *      - `sentNow` when the connection is open: the provider hands it to the socket at once, and
 *        it goes out in the message in flight or in the next one, which `messageSent` reports
 *        before the ack that releases it;
 *      - otherwise (offline, or loaded from the local store) it waits for the next sync step 2,
 *        which carries every struct the server lacks and the document's whole delete set.
 *
 * A change made offline waits for that sync step 2 even when its structs are already covered:
 * the server may have had the structs from an earlier session while the deletions are new.
 */
export class SavedTracker {
  /** client → clock after the last local struct: the state vector of local content. */
  private readonly local = new Map<number, number>()
  /** client → clock of the server's durable state, from the latest ack (null before the first). */
  private durable: Map<number, number> | null = null
  /** Local changes that no message carries yet: they go in the next sync step 2. */
  private waitingForSyncStep2 = false
  /** Acknowledged-kind messages sent on the current connection. */
  private sent = 0
  /** Acks received on the current connection. */
  private acked = 0

  /** True when every local change is known to be durable on the server. */
  get saved(): boolean {
    if (this.waitingForSyncStep2 || this.acked < this.sent) return false
    for (const [client, clock] of this.local) {
      if ((this.durable?.get(client) ?? 0) < clock) return false
    }
    return true
  }

  /** The durable state vector (client → clock) of the latest ack, or null before the first. */
  get durableStateVector(): ReadonlyMap<number, number> | null {
    return this.durable
  }

  /** A local update happened; `sentNow`: the connection is open and takes it at once. */
  localUpdate(update: Uint8Array, { sentNow }: { sentNow: boolean }): void {
    for (const [client, clock] of Y.parseUpdateMeta(update).to) {
      if ((this.local.get(client) ?? 0) < clock) this.local.set(client, clock)
    }
    if (!sentNow) this.waitingForSyncStep2 = true
  }

  /** A sync-step-2 or update message went out on the current connection. */
  messageSent(kind: AcknowledgedMessageKind): void {
    this.sent += 1
    if (kind === 'sync-step-2') this.waitingForSyncStep2 = false
  }

  /** The ack of the oldest unacknowledged message, with the server's durable state vector. */
  ack(durableStateVector: Uint8Array): void {
    this.durable = Y.decodeStateVector(durableStateVector)
    this.acked += 1
  }

  /** The connection closed: whatever was unacknowledged goes again in the next sync step 2. */
  disconnected(): void {
    if (this.acked < this.sent) this.waitingForSyncStep2 = true
    this.sent = 0
    this.acked = 0
  }
}
