import type { Logger } from '../observability/logger.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import type { ReviewItem } from '../reviews/reviewItem.ts'
import { ownersFromEventLog, type ClientOwners } from '../gate/clientOwnership.ts'

/** What a room reads from the store before it can answer anyone. */
export interface StoredRoomState {
  /** The stored updates, oldest first, each checked. */
  readonly updates: Uint8Array[]
  /** The stored state vector when current (null: compute it from the updates). */
  readonly stateVector: Uint8Array | null
  /** The last event-log sequence number (0: no history). */
  readonly lastEventSeq: number
  readonly pendingReviews: ReviewItem[]
}

/** The reads of a cold load, in parallel (each on the document's chain in the store). */
export const readStoredRoomState = async (store: DocumentStorage, tenant: string, document: string, storageName: string): Promise<StoredRoomState> => {
  const [{ updates, stateVector }, lastEventSeq, pendingReviews] = await Promise.all([
    store.loadStored(storageName),
    store.lastEventSeq(storageName),
    store.pendingReviews(tenant, document),
  ])
  return { updates, stateVector, lastEventSeq, pendingReviews }
}

/**
 * The owners of the document's client ids, into `owners`. A document stored before client-id owners
 * were: its owners are read from its event log once and stored, so nobody can take over an id its
 * user wrote under before the upgrade.
 */
export const loadClientOwners = async (
  store: DocumentStorage,
  storageName: string,
  lastEventSeq: number,
  owners: ClientOwners,
  logger: Logger,
): Promise<void> => {
  const stored = await store.clientOwners(storageName)
  owners.record(stored)
  if (stored.length > 0 || lastEventSeq === 0) return
  const claims = ownersFromEventLog(await store.readEvents(storageName))
  if (claims.length === 0) return
  owners.record(claims)
  await store.appendBatch(storageName, { update: null, owners: claims })
  logger.info({ owners: claims.length }, 'client-id owners rebuilt from the event log')
}
