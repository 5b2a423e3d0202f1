import type { Readable } from 'node:stream'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import type { DocumentStore } from '../persistence/documentStore.ts'
import { backupStream, type BackupOptions } from './backupCreate.ts'
import { openRawLevel, takeStoreSnapshot } from './storeSnapshot.ts'

/** A backup of a running server's store, as of this call (see storeSnapshot.ts: no write waits). */
export const backupOfRunningStore = (store: DocumentStore, options: BackupOptions): Readable =>
  backupStream(takeStoreSnapshot(store.location, () => store.openRawSnapshot()), options)

/**
 * Online backups (the admin API), at most `maxConcurrent` streaming at once: each holds a LevelDB
 * snapshot (LevelDB keeps the versions it sees until it ends) and a copy of the write-ahead log in
 * memory, for as long as the client takes to read it. Beyond the limit: ERR_BACKUP_IN_PROGRESS (503).
 */
export const limitedOnlineBackups = (store: DocumentStore, maxConcurrent = 2): ((tenant: string) => Readable) => {
  let streaming = 0
  return (tenant) => {
    if (streaming >= maxConcurrent) throw new CollabError(ErrorCode.BackupInProgress, `${streaming} backups are streaming already; retry when one is done`)
    const stream = backupOfRunningStore(store, { tenant })
    streaming++
    stream.once('close', () => streaming--)
    return stream
  }
}

/**
 * A backup of a stopped server's data directory (the CLI's offline backup). Its LevelDB is opened
 * raw, under LevelDB's lock (ERR_DATA_DIR_LOCKED while a server runs on it), and nothing is
 * replayed or changed: the write-ahead log goes into the backup as it is. No master key is needed:
 * sealed records are copied sealed.
 */
export const backupOfStoppedStore = async (directory: string, options: BackupOptions): Promise<Readable> => {
  const db = await openRawLevel(directory)
  try {
    const stream = backupStream(
      takeStoreSnapshot(directory, () => db.iterator()),
      options,
    )
    stream.once('close', () => void db.close())
    return stream
  } catch (error) {
    await db.close()
    throw error
  }
}
