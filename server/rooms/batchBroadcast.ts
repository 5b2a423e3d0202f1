import * as Y from 'yjs'
import type { Peer } from '../connection/peer.ts'
import { encodeUpdate } from '../protocol/protocol.ts'
import type { PendingWrite } from './groupCommit.ts'

/** The merged update each batch stored, for its broadcast once durable (keyed by the batch: one map for all rooms). */
const mergedByBatch = new WeakMap<readonly PendingWrite<Peer>[], Uint8Array>()

/** The batch's updates merged into the one update it stores (null: it holds none), kept for its broadcast. */
export const mergeBatch = (writes: readonly PendingWrite<Peer>[]): Uint8Array | null => {
  const updates = writes.flatMap((write) => (write.update ? [write.update] : []))
  const merged = updates.length === 0 ? null : updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates)
  if (merged) mergedByBatch.set(writes, merged)
  return merged
}

/** The update `mergeBatch` made for this batch, forgotten now (null: it held none). */
export const takeMergedBatch = (writes: readonly PendingWrite<Peer>[]): Uint8Array | null => {
  const merged = mergedByBatch.get(writes) ?? null
  mergedByBatch.delete(writes)
  return merged
}

/** The peers a batch goes to. */
export interface BroadcastRoom {
  readonly peers: ReadonlySet<Peer>
  broadcast(message: Uint8Array, except?: Peer): void
}

/**
 * One message per peer per batch, not one per update: a burst of N updates costs each peer one
 * frame (and the server one socket write per peer) instead of N. When the batch has one source,
 * the other peers get the merged update the batch stored and the source only the compensation of
 * its own changes. When several peers wrote, every peer gets the merged update, its own changes
 * included (harmless: Yjs skips what a replica already has; the y-websocket server echoes every
 * update to its sender).
 */
export const broadcastBatch = (room: BroadcastRoom, writes: readonly PendingWrite<Peer>[], merged: Uint8Array | null): void => {
  const sources = new Set<Peer>()
  for (const write of writes) if (write.source && write.update) sources.add(write.source)
  // A batch holding the server's own change (a load-time move, an approval, a revert) goes to
  // everyone: skipping its one peer source would lose that change for it (later server changes
  // would then wait in its doc for the missing one, forever).
  const toEveryone = sources.size > 1 || writes.some((write) => write.update && !write.source)
  if (merged) {
    const message = encodeUpdate(merged)
    if (toEveryone) room.broadcast(message)
    else room.broadcast(message, sources.values().next().value)
  }
  const echoes = new Map<Peer, Uint8Array[]>()
  for (const { source, echo } of writes) if (source && echo) echoes.set(source, [...(echoes.get(source) ?? []), echo])
  for (const [source, updates] of echoes) {
    // Sent to everyone, the merged update above already carried the compensation to its sender.
    if (toEveryone && merged && room.peers.has(source)) continue
    source.send(encodeUpdate(updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates)))
  }
}
