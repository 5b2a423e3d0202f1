import { mkdir, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { openRecordCodec } from '../crypto/atRest.ts'
import { parseKeyringState } from '../crypto/keyring.ts'
import { writeFileAtomically, KEYRING_FILE } from '../crypto/keyringFile.ts'
import { DocumentStore, WAL_DIRECTORY } from '../persistence/documentStore.ts'
import { WriteAheadLog } from '../persistence/writeAheadLog.ts'
import { BACKUP_FORMAT, checkBackupChecksum, readBackupFrames, type BackupHeader, type BackupSummary } from './backupFormat.ts'
import { openRawLevel } from './storeSnapshot.ts'

export interface RestoreOptions {
  /** The master key of the store the backup was taken from (needed when it is sealed). */
  readonly masterKey: Buffer | null
  /** Bytes of the file read so far, and its size (the checksum pass, then the restore pass). */
  readonly onProgress?: (phase: 'checksum' | 'restore', read: number, total: number) => void
}

/** Records per LevelDB batch while restoring. */
const WRITE_BATCH = 1000

/**
 * Restores a backup into `directory`, which must be empty or missing (ERR_TARGET_NOT_EMPTY): a
 * restore never mixes with data already there. The checksum is checked first and, for a sealed
 * backup, the master key against the keyring's canary, before anything is written
 * (ERR_BACKUP_DAMAGED, ERR_MASTER_KEY_REQUIRED, ERR_WRONG_MASTER_KEY). The records go into a new
 * LevelDB, the log records into its write-ahead log, and the store is then opened once, which
 * replays the log exactly as after a crash. A failed restore leaves the directory empty.
 */
export const restoreBackup = async (file: string, directory: string, { masterKey, onProgress }: RestoreOptions): Promise<{ header: BackupHeader; summary: BackupSummary }> => {
  const existing = await readdir(directory).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return []
    throw error
  })
  if (existing.length > 0) throw new CollabError(ErrorCode.TargetNotEmpty, `${directory} is not empty: a backup is restored into an empty or new directory only`)
  await checkBackupChecksum(file, (read, total) => onProgress?.('checksum', read, total))
  const { header, keyringText } = await readHead(file)
  if (header.encrypted) {
    if (!masterKey) throw new CollabError(ErrorCode.MasterKeyRequired, `${file} holds sealed records: give the master key of the store it was taken from (--master-key-file)`)
    await openRecordCodec({ masterKey }, parseKeyringState(keyringText!, file), file, async () => false)
  }
  await mkdir(directory, { recursive: true })
  try {
    const summary = await writeRecords(file, directory, onProgress)
    // Opening the store replays the log into LevelDB (and checks the key once more).
    const store = await DocumentStore.open(directory, { atRest: { masterKey: header.encrypted ? masterKey : null } })
    await store.close()
    return { header, summary }
  } catch (error) {
    for (const name of await readdir(directory)) await rm(join(directory, name), { recursive: true, force: true })
    throw error
  }
}

/** The header and keyring frames (they come first). */
const readHead = async (file: string): Promise<{ header: BackupHeader; keyringText: string | null }> => {
  let header: BackupHeader | null = null
  let keyringText: string | null = null
  for await (const frame of readBackupFrames(file)) {
    if (frame.kind === 'header') header = frame.header
    else if (frame.kind === 'keyring') keyringText = frame.text
    else break
  }
  if (header?.format !== BACKUP_FORMAT) throw new CollabError(ErrorCode.BackupDamaged, `${file} is not a ${BACKUP_FORMAT} backup`)
  if (header.encrypted && keyringText === null) throw new CollabError(ErrorCode.BackupDamaged, `${file} is sealed but holds no keyring`)
  return { header, keyringText }
}

const writeRecords = async (file: string, directory: string, onProgress: RestoreOptions['onProgress']): Promise<BackupSummary> => {
  const db = await openRawLevel(directory, { createIfMissing: true })
  const { log } = WriteAheadLog.open(join(directory, WAL_DIRECTORY))
  let batch: Array<{ type: 'put'; key: Buffer; value: Buffer }> = []
  let records = 0
  let logRecords = 0
  let summary: BackupSummary | null = null
  try {
    for await (const frame of readBackupFrames(file, (read, total) => onProgress?.('restore', read, total))) {
      if (frame.kind === 'keyring') writeFileAtomically(join(directory, KEYRING_FILE), frame.text)
      else if (frame.kind === 'entry') {
        batch.push({ type: 'put', key: Buffer.from(frame.key), value: Buffer.from(frame.value) })
        records++
        if (batch.length >= WRITE_BATCH) {
          await db.batch(batch)
          batch = []
        }
      } else if (frame.kind === 'logRecord') {
        // Appended, never marked applied: the segment stays for the store's first open to replay.
        log.append(frame.record)
        logRecords++
      } else if (frame.kind === 'summary') summary = frame.summary
    }
    if (batch.length > 0) await db.batch(batch)
  } finally {
    log.close()
    await db.close()
  }
  if (!summary || summary.records !== records || summary.logRecords !== logRecords) {
    throw new CollabError(ErrorCode.BackupDamaged, `${file} holds ${records} records and ${logRecords} log records, its summary says otherwise`)
  }
  return summary
}
