import type { ServerConfig } from '../config.ts'
import type { Logger } from '../observability/logger.ts'
import { indexPendingReviews } from '../reviews/pendingReviewIndex.ts'
import { DocumentStore } from './documentStore.ts'
import type { DocumentStorage } from './documentStorage.ts'
import { masterKeySource } from '../crypto/masterKey.ts'

/**
 * The store the configuration names: PostgreSQL when `postgresUrl` is set (its migrations applied
 * first), else the LevelDB in `dataDir` (its write-ahead log replayed, and pending review items
 * written before their per-document index indexed). Ready for rooms to load from when it resolves.
 */
export const openStorage = async (config: ServerConfig, logger: Logger): Promise<DocumentStorage> => {
  // Encryption at rest when a master key is configured: a missing or wrong key fails here (ERR_…).
  // Several keys (newest first) during a master-key rotation: the store opens with any, is wrapped under the first.
  const source = masterKeySource(config)
  const masterKeys = (await source?.loadAll()) ?? []
  const atRest = { masterKey: masterKeys[0] ?? null, formerMasterKeys: masterKeys.slice(1), ...(source ? { rereadMasterKeys: () => source.loadAll() } : {}) }
  if (config.postgresUrl) {
    // Loaded only here: the PostgreSQL client is ~70 ms of CPU at every start of a server that does not use it.
    const { PostgresStorage } = await import('./postgres/postgresStorage.ts')
    return PostgresStorage.open(config.postgresUrl, { logger, claimOnWrite: !config.redisUrl, atRest })
  }
  const store = await DocumentStore.open(config.dataDir, {
    atRest,
    logger,
    batchIntervalMs: config.storeBatchIntervalMs,
    maxBacklogWrites: config.maxStoreBacklogWrites,
    maxBacklogBytes: config.maxStoreBacklogBytes,
  })
  await indexPendingReviews(store) // before any room loads its pending review items
  return store
}
