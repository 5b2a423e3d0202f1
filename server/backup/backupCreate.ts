import { readFileSync } from 'node:fs'
import { keyEncoding } from 'y-leveldb'
import type { Readable } from 'node:stream'
import { EVENTS_NAMESPACE } from '../persistence/eventLog.ts'
import { tenantOf, type RecordLocation } from '../crypto/recordCodec.ts'
import { BACKUP_FORMAT, backupFileStream, type BackupHeader, type BackupSummary, type Frame } from './backupFormat.ts'
import type { StoreSnapshot } from './storeSnapshot.ts'

export interface BackupOptions {
  /** Only this tenant's records (and the store's own bookkeeping), or null: the whole store. */
  readonly tenant: string | null
  /** Called as records are written: how many so far. */
  readonly onProgress?: (records: number) => void
  /** Called once the summary is written, with it. */
  readonly onSummary?: (summary: BackupSummary) => void
}

/** LevelDB reads per step: large enough to amortise the thread-pool hop, small enough to stream. */
const READ_BATCH = 1000

export const SERVER_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
})()

/** The backup file of a snapshot, as a stream (see backupFormat.ts); the snapshot's iterator is closed at its end. */
export const backupStream = (snapshot: StoreSnapshot, options: BackupOptions): Readable => backupFileStream(backupFrames(snapshot, options))

const belongsTo = (key: RecordLocation, tenant: string | null): boolean => {
  if (tenant === null) return true
  const owner = tenantOf(key)
  // Store-wide bookkeeping (no tenant) goes with every tenant's backup: it holds no tenant's data.
  return owner === tenant || owner === ''
}

async function* backupFrames(snapshot: StoreSnapshot, { tenant, onProgress, onSummary }: BackupOptions): AsyncGenerator<Frame> {
  const header: BackupHeader = {
    format: BACKUP_FORMAT,
    createdAt: new Date().toISOString(),
    serverVersion: SERVER_VERSION,
    store: 'leveldb/y-leveldb-v1',
    encrypted: snapshot.keyringText !== null,
    tenant,
  }
  const documents = new Set<string>()
  let records = 0
  let events = 0
  let logRecords = 0
  try {
    yield { kind: 'header', header }
    if (snapshot.keyringText !== null) yield { kind: 'keyring', text: snapshot.keyringText }
    for (;;) {
      const entries = await snapshot.iterator.nextv(READ_BATCH)
      if (entries.length === 0) break
      for (const [key, value] of entries) {
        const location = keyEncoding.decode(key) as Array<string | number>
        if (!belongsTo(location, tenant)) continue
        if (location[0] === 'v1_sv') documents.add(String(location[1]))
        else if (location[0] === EVENTS_NAMESPACE) events++
        records++
        yield { kind: 'entry', key, value }
      }
      onProgress?.(records)
    }
  } finally {
    await snapshot.iterator.close()
  }
  for (const record of snapshot.logRecords) {
    const ops = record.ops.filter((op) => belongsTo(op.key, tenant))
    if (ops.length === 0) continue
    if (ops.some((op) => op.key[0] === 'v1' || op.key[0] === 'v1_sv')) documents.add(record.storageName)
    logRecords++
    yield { kind: 'logRecord', record: { ...record, ops } }
  }
  const summary: BackupSummary = { records, logRecords, documents: documents.size, events }
  yield { kind: 'summary', summary }
  onSummary?.(summary)
}
