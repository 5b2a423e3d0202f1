import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Level } from 'level'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { KEYRING_FILE } from '../crypto/keyringFile.ts'
import { WAL_DIRECTORY } from '../persistence/documentStore.ts'
import { readSegment, type LogRecord } from '../persistence/writeAheadLog.ts'

/** LevelDB's records as raw bytes, from the snapshot the iterator was opened on. */
export interface RawSnapshotIterator {
  nextv(size: number): Promise<Array<[Buffer, Buffer]>>
  close(): Promise<void>
}

/**
 * One moment of a LevelDB data directory: what LevelDB held, what the write-ahead log held, and
 * the keyring, all taken in one synchronous turn of the event loop.
 *
 * Why that is a consistent point in time without holding any write: a write is acknowledged once
 * its record is appended to the log (a synchronous `write(2)` in an earlier turn), and LevelDB
 * gets it later, atomically per batch. The iterator's LevelDB snapshot is taken when it is made
 * (synchronously); the log is read in the same turn, so no record is appended, applied or deleted
 * in between. Every write acknowledged before the moment is therefore in the log copy, in the
 * LevelDB snapshot, or in both; every write after it is in neither; and a record is in LevelDB
 * whole or not at all. Restoring the two is what the server does after a crash: LevelDB, then the
 * log replayed over it, skipping records LevelDB already holds (documentStore.ts, `replay`).
 * The keyring is saved before any record sealed with a key it adds, so the copy opens them all.
 *
 * The log copy is held in memory: at most one segment (16 MiB) plus the backlog LevelDB has not
 * caught up with, which the store bounds (maxStoreBacklogBytes).
 */
export interface StoreSnapshot {
  readonly iterator: RawSnapshotIterator
  readonly logRecords: readonly LogRecord[]
  /** keyring.json as it was (encryption at rest), or null: the store is not encrypted. */
  readonly keyringText: string | null
}

/** Takes the snapshot of `directory`, the iterator made by `openIterator` (which must not yield to the event loop). */
export const takeStoreSnapshot = (directory: string, openIterator: () => RawSnapshotIterator): StoreSnapshot => {
  const iterator = openIterator()
  try {
    const logDirectory = join(directory, WAL_DIRECTORY)
    const segments = existsSync(logDirectory) ? readdirSync(logDirectory).filter((name) => /^\d+\.wal$/.test(name)).sort() : []
    const logRecords = segments.flatMap((name) => readSegment(readFileSync(join(logDirectory, name))).records)
    const keyringPath = join(directory, KEYRING_FILE)
    const keyringText = existsSync(keyringPath) ? readFileSync(keyringPath, 'utf8') : null
    return { iterator, logRecords, keyringText }
  } catch (error) {
    void iterator.close()
    throw new CollabError(ErrorCode.PersistenceFailed, `cannot read the write-ahead log or keyring of ${directory}: ${(error as Error).message}`)
  }
}

/** The raw LevelDB of a stopped server's data directory (its lock taken: refused while a server runs on it). */
export const openRawLevel = async (directory: string, { createIfMissing = false } = {}): Promise<Level<Buffer, Buffer>> => {
  const db = new Level<Buffer, Buffer>(directory, { keyEncoding: 'buffer', valueEncoding: 'buffer', createIfMissing })
  try {
    await db.open()
  } catch (error) {
    const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message
    if (/lock/i.test(cause)) throw new CollabError(ErrorCode.DataDirLocked, `data directory ${directory} is locked: another server is using it`)
    throw new CollabError(ErrorCode.PersistenceFailed, `cannot open the LevelDB in ${directory}: ${cause}`)
  }
  return db
}
