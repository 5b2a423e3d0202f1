import * as Y from 'yjs'

/**
 * What a peer's sync step 2 really changed, as Yjs encodes it for the transaction that applied
 * it: the new items and only the deletions the document did not have yet.
 *
 * A sync step 2 carries its sender's whole delete set (Yjs's encodeStateAsUpdate always writes
 * it), so a stock client reconnecting to a document with a long history sends every deletion ever
 * made with its one-word offline edit: ~17 KB for a 5 MB proposal, ~80 KB for 20 MB. Stored and
 * broadcast as received, every reconnect would pass that on to each other peer in the room (a
 * reconnect storm of n peers: n² delete sets) and store it again, to be sent once more by a
 * later handshake from disk. Stored and broadcast as the transaction's update, a reconnect costs
 * the difference only. Ordinary update messages are their sender's own transactions, already
 * net, and are not re-encoded.
 */
export interface NetUpdateCapture {
  /** Stops listening; the applied transaction's update, or null when it changed nothing. */
  stop(): Uint8Array | null
}

export const captureNetUpdate = (doc: Y.Doc, origin: unknown): NetUpdateCapture => {
  let net: Uint8Array | null = null
  const listener = (update: Uint8Array, updateOrigin: unknown) => {
    if (updateOrigin !== origin) return
    // One peer update is applied in one transaction; should it ever take several, keep all of them.
    net = net === null ? update : Y.mergeUpdates([net, update])
  }
  doc.on('update', listener)
  return {
    stop: () => {
      doc.off('update', listener)
      return net
    },
  }
}
