import * as Y from 'yjs'
import type { Peer } from '../connection/peer.ts'
import { decodeMessage, encodeSyncStep1FromStateVector, encodeSyncStep2FromUpdate, encodeUpdate } from '../protocol/protocol.ts'

/** Frames that arrived while a room was loading, in arrival order (frame null: the peer's greeting). */
export type WaitingFrames = Array<{ peer: Peer; frame: Uint8Array | null }>

/** What the room holds for answering from disk: its peers, and what a peer gets besides the handshake. */
export interface HandshakeRoom {
  readonly peers: ReadonlySet<Peer>
  readonly maxDocumentBytes: number
  /** Sent to a peer after its handshake was answered (pending reviews). */
  afterHandshake(peer: Peer): void
}

/**
 * Building a big document takes longer than reading it (a 300 KB document: ~75 ms against ~15).
 * The peers that joined and asked for the document while it was read (sync step 1, as a
 * provider does on open) need not wait for that: the stored updates are exactly the state the
 * doc will be built from, so their handshake is answered from them first: the server's sync
 * step 1 (its state vector, so the handshake keeps its usual order and the client's reply
 * carries only what the server lacks), then the stored updates, the last one as the sync step 2
 * (a provider is synced when that has arrived, and then it holds everything). The state vector
 * comes from the store's entry, kept current with every write; only when that is stale are the
 * updates merged and decoded for it. An idle document is stored as one update, which then goes
 * out as it was read. Only a peer whose greeting and first frame are waiting is answered this way,
 * so each peer's frames keep their order; anything else waits for the doc. (Awareness cannot have
 * changed yet: its frames wait too.)
 *
 * Returns the frames still waiting: without each answered peer's greeting and first frame.
 */
export const answerSyncRequestsFromDisk = (
  room: HandshakeRoom,
  waiting: WaitingFrames,
  updates: readonly Uint8Array[],
  storedStateVector: Uint8Array | null,
): WaitingFrames => {
  if (updates.length === 0) return waiting
  // Stored updates not yet compacted may hold far more than the document (content deleted or
  // compensated since): more than a joiner's send buffer may take. The built document is sent then.
  if (updates.reduce((size, update) => size + update.byteLength, 0) > room.maxDocumentBytes) return waiting
  let stored: StoredState | null = null
  const storedState = (): StoredState => {
    if (stored) return stored
    if (storedStateVector) return (stored = { updates, stateVector: storedStateVector })
    const merged = updates.length === 1 ? updates[0]! : Y.mergeUpdates([...updates])
    return (stored = { updates: [merged], stateVector: Y.encodeStateVectorFromUpdate(merged) })
  }
  /** The answer to a fresh replica (empty state vector) is the same for every peer. */
  let forFreshReplica: Uint8Array[] | null = null
  const greeted = new Set<Peer>()
  const answered = new Set<Peer>()
  const decided = new Set<Peer>()
  for (const { peer, frame } of waiting) {
    if (frame === null) {
      greeted.add(peer)
      continue
    }
    if (decided.has(peer)) continue
    decided.add(peer)
    if (!greeted.has(peer) || !room.peers.has(peer)) continue
    const clientStateVector = syncStep1StateVector(frame)
    if (clientStateVector === null) continue
    let messages: Uint8Array[]
    try {
      const fresh = Y.decodeStateVector(clientStateVector).size === 0
      messages = fresh ? (forFreshReplica ??= handshakeFrom(storedState(), null)) : handshakeFrom(storedState(), clientStateVector)
    } catch {
      continue // it takes the usual path, errors included
    }
    for (const message of messages) peer.send(message)
    room.afterHandshake(peer)
    answered.add(peer)
  }
  if (answered.size === 0) return waiting
  // Drop each answered peer's greeting and its first frame (the sync step 1 just answered).
  const dropped = new Set<Peer>()
  return waiting.filter(({ peer, frame }) => {
    if (!answered.has(peer)) return true
    if (frame === null) return false
    if (dropped.has(peer)) return true
    dropped.add(peer)
    return false
  })
}

interface StoredState {
  readonly updates: readonly Uint8Array[]
  readonly stateVector: Uint8Array
}

/**
 * The state vector of a well-formed sync step 1, or null when the frame is not one (it then takes
 * the usual path, errors included).
 */
const syncStep1StateVector = (frame: Uint8Array): Uint8Array | null => {
  try {
    const message = decodeMessage(frame)
    return message.kind === 'sync-step-1' ? message.stateVector : null
  } catch {
    return null
  }
}

/**
 * The server's side of the handshake from the stored state: its sync step 1, then each stored
 * update (only what the client lacks, when it sent a state vector), the last one as sync step 2.
 */
const handshakeFrom = (stored: StoredState, clientStateVector: Uint8Array | null): Uint8Array[] => {
  const parts = clientStateVector ? stored.updates.map((update) => Y.diffUpdate(update, clientStateVector)) : stored.updates
  return [
    encodeSyncStep1FromStateVector(stored.stateVector),
    ...parts.slice(0, -1).map((update) => encodeUpdate(update)),
    encodeSyncStep2FromUpdate(parts.at(-1)!),
  ]
}
