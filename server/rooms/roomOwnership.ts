import { CollabError, ErrorCode, isCollabError } from '../../shared/errors.ts'
import type { OwnershipLoss } from '../cluster/clusterMetrics.ts'
import type { DocumentOwnership, HeldDocument } from '../cluster/documentOwnership.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'

/**
 * How a room becomes its document's only writer before loading it: in cluster mode by taking the
 * document's lease (and epoch) through `ownership`, which calls `onLost` once if the lease is lost
 * while held; on one node by the store's claim (LevelDB's lock: nothing to claim). Resolves with the
 * held document in cluster mode, null on one node.
 */
export const takeDocument = async (
  ownership: DocumentOwnership | null,
  store: DocumentStorage,
  storageName: string,
  onLost: (reason: OwnershipLoss) => void,
): Promise<HeldDocument | null> => {
  if (ownership) return ownership.take(storageName, onLost)
  await store.claim(storageName)
  return null
}

/**
 * A lease that may have lapsed (a pause, Redis out of reach) writes nothing: the fence would
 * refuse it once another node claimed the document, but it might not have claimed it yet.
 */
export const assertMayWrite = (held: HeldDocument | null): void => {
  if (held && !held.valid) throw new CollabError(ErrorCode.DocumentMoved, 'the document lease lapsed before this write')
}

/**
 * Did a failed write mean the document is no longer this node's? Stale: the store refused it.
 * Moved: the lease ended before the write began (the room saw it before the lease keeper's timer
 * did). Either way the loss is counted here, once (the held document ignores a second count).
 * null: an ordinary failure (or no lease held).
 */
export const ownershipLostBy = (held: HeldDocument | null, error: unknown): OwnershipLoss | null => {
  if (!held || !isCollabError(error)) return null
  if (error.code === ErrorCode.StaleEpoch) {
    held.refused()
    return 'stale-epoch'
  }
  if (error.code === ErrorCode.DocumentMoved) {
    held.lapsed()
    return 'expired'
  }
  return null
}
