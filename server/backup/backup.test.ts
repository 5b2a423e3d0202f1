import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { readdir, readFile, stat, writeFile, mkdir, utimes } from 'node:fs/promises'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { readTextField } from '../../shared/documentModel.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { ErrorCode, isCollabError } from '../../shared/errors.ts'
import { loadConfig } from '../config.ts'
import { clockOf, connectAckedClient, type AckedClient } from '../testing/ackedClient.ts'
import { adminCli } from '../testing/adminCli.ts'
import { newMasterKey } from '../testing/atRestFiles.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import { spawnServer } from '../../shared/testing/serverProcess.ts'
import { backupFileName } from './scheduledBackups.ts'
import { limitedOnlineBackups } from './storeBackup.ts'
import { backupFileStream, checkBackupChecksum, encodeFrame, FrameKind, readBackupFrames, type Frame } from './backupFormat.ts'
import { keyEncoding } from 'y-leveldb'
import { createHash } from 'node:crypto'
import * as encoding from 'lib0/encoding'
import { DocumentStore } from '../persistence/documentStore.ts'
import { createWriteStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import * as Y from 'yjs'

const docWithTitle = (title: string): Y.Doc => {
  const doc = new Y.Doc()
  doc.getText('title').insert(0, title)
  return doc
}

/**
 * Backups of the LevelDB store, end to end: the admin CLI against a real server (online) or a
 * stopped data directory (offline), restores started as real servers, clients that count acks.
 */

const cleanups: Array<() => Promise<unknown>> = []
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})
const scratch = async () => {
  const dir = await tempDir('posalpro-backup-test-')
  cleanups.push(() => dir.remove())
  return dir.path
}

/** The rate limits and the store's backlog bound are not under test: writers here type far faster than people. */
const UNLIMITED_ARGS = ['--connection-messages', '100000', '--connection-message-burst', '100000', '--rate-messages', '100000', '--rate-message-burst', '100000', '--max-store-backlog-writes', '1000000']

/** Keys `<prefix>0`, `<prefix>1` … in a proposal's team map: one item, one clock, per key. */
const keysOf = (team: Map<string, unknown> | { keys(): IterableIterator<string> }, prefix: string): number[] =>
  [...team.keys()].filter((key) => key.startsWith(prefix)).map((key) => Number(key.slice(prefix.length))).sort((a, b) => a - b)

// Two ways LevelDB can stand behind the log: far behind (one batch, then none for ten minutes:
// every later acknowledged write is only in the write-ahead log when the snapshot is taken), and
// just behind (a batch every 20 ms, landing while the backup streams).
for (const [lag, storeBatchIntervalMs] of [['only in the write-ahead log', 600_000], ['LevelDB catching up meanwhile', 20]] as const) {
test(`backup under live writes (${lag}): every write acknowledged before it is restored, each writer a prefix of what it wrote`, async () => {
  // A process of its own: a server whose LevelDB is ten minutes behind would take that long to
  // close; this one is killed at the end.
  const server = await spawnServer({ dataDir: await scratch(), args: ['--store-batch-interval', String(storeBatchIntervalMs), ...UNLIMITED_ARGS] })
  cleanups.push(() => server.kill())
  const writers: Array<{ name: string; room: string; client: AckedClient; written: number }> = []
  for (const [name, room] of [['ann', 'proposal/p-live'], ['bob', 'proposal/p-live'], ['cat', 'proposal/p-other']] as const) {
    // Admins: only they may change a proposal's team (team-admin-only), one item per key.
    const client = await connectAckedClient(server, room, { user: name, role: 'admin' })
    cleanups.push(async () => client.destroy())
    writers.push({ name, room, client, written: 0 })
  }
  let writing = true
  const loops = writers.map(async (writer) => {
    const team = writer.client.doc.getMap('team')
    while (writing) {
      team.set(`${writer.name}${writer.written++}`, 'editor')
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
  })
  await eventually(() => assert.ok(writers.every((w) => w.client.ackedClock() >= 20), 'every writer has 20 acknowledged writes'))
  const ackedBefore = writers.map((w) => w.client.ackedClock())
  const file = join(await scratch(), 'live.ppbak')
  const admin = ['--url', server.httpUrl, '--token', await server.token({ user: 'ada', role: 'admin' })]
  const created = await adminCli([...admin, '--json', 'backup', 'create', '-o', file])
  assert.equal(created.code, 0, created.stderr)
  // Writes went on during the backup and after it.
  const ackedAfterBackup = writers.map((w) => w.client.ackedClock())
  await eventually(() => assert.ok(writers.every((w, i) => w.client.ackedClock() > ackedAfterBackup[i]!), 'writes go on after the backup'))
  writing = false
  await Promise.all(loops)
  const manifest = JSON.parse(created.stdout) as { tenant: string; encrypted: boolean; documents: number; logRecords: number; records: number }
  assert.equal(manifest.tenant, 'acme')
  assert.equal(manifest.encrypted, false)
  assert.equal(manifest.documents, 2)
  assert.ok(manifest.logRecords > 0, 'acknowledged writes only in the write-ahead log are in the backup')

  const verified = await adminCli(['backup', 'verify', file])
  assert.equal(verified.code, 0, verified.stdout + verified.stderr)
  assert.match(verified.stdout, /proposal\/p-live\s+ok/)

  const restoredDir = join(await scratch(), 'restored')
  const restored = await adminCli(['--data-dir', restoredDir, 'backup', 'restore', file])
  assert.equal(restored.code, 0, restored.stderr)
  const copy = await startServer({ dataDir: restoredDir })
  cleanups.push(() => copy.stop())
  for (const [index, writer] of writers.entries()) {
    const reader = await copy.connect(writer.room)
    await reader.whenSynced()
    const present = keysOf(reader.doc.getMap('team'), writer.name)
    reader.destroy()
    // A prefix: the first k writes, none missing in between, none after a gap.
    assert.deepEqual(present, present.map((_, i) => i), `${writer.name}: a prefix of its writes`)
    assert.ok(present.length >= ackedBefore[index]!, `${writer.name}: ${ackedBefore[index]} acknowledged before the backup, ${present.length} restored`)
    assert.ok(present.length <= writer.written, 'no write the writer did not make')
  }
  for (const writer of writers) writer.client.destroy()
})
}

test('backup verify finds a flipped byte and a cut-short file; restore refuses a non-empty directory and a damaged file', async () => {
  const server = await startServer()
  const writer = await connectAckedClient(server, 'proposal/p-verify')
  writer.doc.getMap('meta').set('title', 'Verify me')
  await eventually(() => assert.ok(clockOf(writer.acks.at(-1), writer.doc.clientID) >= 1, 'acknowledged'))
  writer.destroy()
  await server.stop()
  cleanups.push(() => server.dispose())
  const dir = await scratch()
  const file = join(dir, 'offline.ppbak')
  // Offline, on the stopped data directory: the whole store.
  const created = await adminCli(['--data-dir', server.dataDir, 'backup', 'create', '-o', file])
  assert.equal(created.code, 0, created.stderr)
  assert.match(created.stdout, /every tenant/)
  assert.equal((await adminCli(['backup', 'verify', file])).code, 0)

  const bytes = await readFile(file)
  const flipped = Buffer.from(bytes)
  flipped[Math.floor(bytes.byteLength / 2)]! ^= 0x01
  await writeFile(join(dir, 'flipped.ppbak'), flipped)
  const damaged = await adminCli(['backup', 'verify', join(dir, 'flipped.ppbak')])
  assert.equal(damaged.code, 1)
  assert.match(damaged.stderr, /ERR_BACKUP_DAMAGED: .*SHA-256/)
  await writeFile(join(dir, 'cut.ppbak'), bytes.subarray(0, bytes.byteLength - 100))
  const cut = await adminCli(['backup', 'verify', join(dir, 'cut.ppbak')])
  assert.equal(cut.code, 1)
  assert.match(cut.stderr, /ERR_BACKUP_DAMAGED/)

  const occupied = join(dir, 'occupied')
  await mkdir(occupied)
  await writeFile(join(occupied, 'notes.txt'), 'keep me')
  const refused = await adminCli(['--data-dir', occupied, 'backup', 'restore', file])
  assert.equal(refused.code, 1)
  assert.match(refused.stderr, /ERR_TARGET_NOT_EMPTY/)
  assert.deepEqual(await readdir(occupied), ['notes.txt'])
  const fresh = join(dir, 'fresh')
  const fromDamaged = await adminCli(['--data-dir', fresh, 'backup', 'restore', join(dir, 'flipped.ppbak')])
  assert.equal(fromDamaged.code, 1)
  assert.match(fromDamaged.stderr, /ERR_BACKUP_DAMAGED/)
  assert.deepEqual(await readdir(fresh).catch(() => []), [])
})

test('verify reads past the checksum: a damaged update in a backup with a valid checksum is a PROBLEM of its document', async () => {
  const dir = await scratch()
  const store = await DocumentStore.open(join(dir, 'data'))
  await store.appendBatch('acme/proposal/p-good', { update: Y.encodeStateAsUpdate(docWithTitle('Good')) })
  await store.appendBatch('acme/proposal/p-bad', { update: Y.encodeStateAsUpdate(docWithTitle('Soon damaged')) })
  await store.close()
  const file = join(dir, 'whole.ppbak')
  assert.equal((await adminCli(['--data-dir', join(dir, 'data'), 'backup', 'create', '-o', file])).code, 0)
  // The same frames, p-bad's update cut short, written as a new backup (so its checksum holds).
  const frames: Frame[] = []
  for await (const frame of readBackupFrames(file)) {
    if (frame.kind === 'entry' && keyEncoding.decode(frame.key).join('|') === 'v1|acme/proposal/p-bad|update|0') frames.push({ ...frame, value: frame.value.subarray(0, 5) })
    else frames.push(frame)
  }
  const tampered = join(dir, 'tampered.ppbak')
  await pipeline(backupFileStream((async function* () { yield* frames })()), createWriteStream(tampered))
  await checkBackupChecksum(tampered)
  const verified = await adminCli(['--json', 'backup', 'verify', tampered])
  assert.equal(verified.code, 1, verified.stderr)
  const report = JSON.parse(verified.stdout) as { ok: boolean; documents: Array<{ name: string; ok: boolean; problems: string[] }> }
  assert.equal(report.documents.find((d) => d.name === 'acme/proposal/p-good')?.ok, true)
  const bad = report.documents.find((d) => d.name === 'acme/proposal/p-bad')
  assert.equal(bad?.ok, false)
  assert.match(bad.problems.join(' '), /stored update #0 is damaged/)
})

test('hostile backup files with valid checksums: a frame claiming 2 GiB, a log record claiming 2^31 operations, frames after the summary', async () => {
  const dir = await scratch()
  /** A backup file around `body` (the frames' bytes, built here byte by byte), with a correct checksum. */
  const fileAround = async (name: string, body: Uint8Array) => {
    const magic = Buffer.from('PPBACKUP')
    const content = Buffer.concat([magic, gzipSync(body)])
    const path = join(dir, name)
    await writeFile(path, Buffer.concat([content, Buffer.from('PPSHA256'), createHash('sha256').update(content).digest()]))
    return path
  }
  const header = encodeFrame({ kind: 'header', header: { format: 'posalpro-backup/1', createdAt: new Date().toISOString(), serverVersion: 'x', store: 'leveldb/y-leveldb-v1', encrypted: false, tenant: null } })
  const summary = encodeFrame({ kind: 'summary', summary: { records: 0, logRecords: 0, documents: 0, events: 0 } })
  const huge = encoding.createEncoder()
  encoding.writeUint8(huge, FrameKind.entry)
  encoding.writeVarUint(huge, 2 ** 31)
  const manyOps = encoding.createEncoder()
  encoding.writeVarString(manyOps, 'acme/proposal/p-1')
  encoding.writeVarInt(manyOps, 0)
  encoding.writeVarInt(manyOps, -1)
  encoding.writeVarUint(manyOps, 2 ** 31)
  const manyOpsFrame = encoding.createEncoder()
  encoding.writeUint8(manyOpsFrame, FrameKind.logRecord)
  encoding.writeVarUint8Array(manyOpsFrame, encoding.toUint8Array(manyOps))
  // Refused as soon as the claim is read (never by waiting for, or allocating, what it claims).
  const cases: Record<string, [Uint8Array, RegExp]> = {
    'huge-frame': [Buffer.concat([header, encoding.toUint8Array(huge), Buffer.alloc(64)]), /a frame claims 2147483648 bytes/],
    'many-ops': [Buffer.concat([header, encoding.toUint8Array(manyOpsFrame), summary]), /claims more operations than it holds/],
    'after-summary': [Buffer.concat([header, summary, summary]), /frames after the summary/],
    'no-header': [Buffer.concat([summary]), /the header must be the first frame/],
  }
  for (const [name, [body, reason]] of Object.entries(cases)) {
    const file = await fileAround(`${name}.ppbak`, body)
    const verified = await adminCli(['backup', 'verify', file])
    assert.equal(verified.code, 1, `${name}: ${verified.stderr}`)
    assert.match(verified.stderr, /ERR_BACKUP_DAMAGED/, name)
    assert.match(verified.stderr, reason, name)
    const restored = await adminCli(['--data-dir', join(dir, `restored-${name}`), 'backup', 'restore', file])
    assert.equal(restored.code, 1, name)
    assert.match(restored.stderr, /ERR_BACKUP_DAMAGED/, name)
  }
})

test('a backup of an encrypted store holds no plaintext, and restores only with its master key', async () => {
  const masterKey = newMasterKey()
  const title = 'Quixotic Lighthouse Renovation'
  const server = await startServer({ masterKey })
  cleanups.push(() => server.dispose())
  const writer = await connectAckedClient(server, 'proposal/p-sealed')
  writer.doc.getMap('meta').set('title', title)
  await eventually(() => assert.ok(clockOf(writer.acks.at(-1), writer.doc.clientID) >= 1, 'acknowledged'))
  writer.destroy()
  const dir = await scratch()
  const file = join(dir, 'sealed.ppbak')
  const admin = ['--url', server.httpUrl, '--token', await server.token({ user: 'ada', role: 'admin' })]
  assert.equal((await adminCli([...admin, 'backup', 'create', '-o', file])).code, 0)
  const plain = gunzipSync((await readFile(file)).subarray(8, -40))
  assert.ok(plain.byteLength > 0, 'the backup decompresses to something')
  assert.equal(plain.includes(Buffer.from(title)), false, 'the title is not in the backup in clear')

  const withoutKey = await adminCli(['--data-dir', join(dir, 'nokey'), 'backup', 'restore', file], { COLLAB_MASTER_KEY: '', COLLAB_MASTER_KEY_FILE: '' })
  assert.equal(withoutKey.code, 1)
  assert.match(withoutKey.stderr, /ERR_MASTER_KEY_REQUIRED/)
  const wrongKey = await adminCli(['--data-dir', join(dir, 'wrong'), 'backup', 'restore', file], { COLLAB_MASTER_KEY: newMasterKey() })
  assert.equal(wrongKey.code, 1)
  assert.match(wrongKey.stderr, /ERR_WRONG_MASTER_KEY/)
  const restoredDir = join(dir, 'restored')
  const restored = await adminCli(['--data-dir', restoredDir, 'backup', 'restore', file], { COLLAB_MASTER_KEY: masterKey })
  assert.equal(restored.code, 0, restored.stderr)
  assert.equal((await adminCli(['backup', 'verify', file], { COLLAB_MASTER_KEY: masterKey })).code, 0)
  const copy = await startServer({ dataDir: restoredDir, masterKey })
  cleanups.push(() => copy.stop())
  const reader = await copy.connect('proposal/p-sealed')
  await reader.whenSynced()
  assert.equal(readTextField(reader.doc, 'proposal', 'title'), title)
  reader.destroy()
})

test('scheduled backups: taken every interval into the directory, whole and verifiable; older than the retention deleted, newer kept', async () => {
  const backupDir = await scratch()
  const now = Date.now()
  const expired = backupFileName(new Date(now - 3 * 86_400_000))
  const retained = backupFileName(new Date(now - 3_600_000))
  for (const name of [expired, retained]) await writeFile(join(backupDir, name), 'an older backup')
  const cutShort = `${backupFileName(new Date(now - 60_000))}.partial`
  await writeFile(join(backupDir, cutShort), 'a backup a crash cut short')
  const unrelated = join(backupDir, 'README.txt')
  await writeFile(unrelated, 'not a backup')
  await utimes(unrelated, new Date(0), new Date(0))
  const server: TestServer = await startServer({ backupDir, backupIntervalMs: 300, backupRetentionMs: 2 * 86_400_000 })
  cleanups.push(() => server.dispose())
  const writer = await connectAckedClient(server, 'proposal/p-scheduled')
  writer.doc.getMap('meta').set('title', 'Scheduled')
  await eventually(() => assert.ok(clockOf(writer.acks.at(-1), writer.doc.clientID) >= 1, 'acknowledged'))
  writer.destroy()
  const taken = async () => (await readdir(backupDir)).filter((name) => name.endsWith('.ppbak') && name !== expired && name !== retained)
  await eventually(async () => assert.ok((await taken()).length >= 2, 'two backups taken on schedule'))
  const names = await readdir(backupDir)
  assert.equal(names.includes(expired), false, 'a backup past the retention is deleted')
  assert.ok(names.includes(retained), 'a backup within the retention is kept')
  assert.ok(names.includes('README.txt'), 'files that are not backups are left alone')
  await eventually(async () => assert.equal((await readdir(backupDir)).includes(cutShort), false, 'a backup cut short by a crash is removed at start'))
  const newest = (await taken()).sort().at(-1)!
  assert.ok((await stat(join(backupDir, newest))).size > 0, 'the newest backup is not empty')
  const verified = await adminCli(['--json', 'backup', 'verify', join(backupDir, newest)])
  assert.equal(verified.code, 0, verified.stderr)
  assert.ok((JSON.parse(verified.stdout) as { documents: Array<{ name: string }> }).documents.some((d) => d.name === `${server.tenant}/proposal/p-scheduled`), 'the scheduled backup holds the document')
  const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text()
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1])
  assert.ok(value('collab_backup_last_success_timestamp_seconds') * 1000 >= now - 1000, 'the last success is recent')
  assert.ok(value('collab_backup_bytes') > 0, 'the backup has bytes')
  assert.equal(value('collab_backup_interval_seconds'), 0.3)
  assert.equal(value('collab_backup_last_failure_timestamp_seconds'), 0)
})

test('online backups are bounded: past the limit a request is refused until one has been read to its end', async () => {
  const dir = await scratch()
  const store = await DocumentStore.open(join(dir, 'data'))
  cleanups.push(() => store.close())
  await store.appendBatch('acme/proposal/p-bounded', { update: Y.encodeStateAsUpdate(docWithTitle('Bounded')) })
  const online = limitedOnlineBackups(store, 1)
  const first = online('acme')
  // Not read yet: it holds its snapshot, so a second one is refused.
  assert.throws(() => online('acme'), (error: unknown) => isCollabError(error) && error.code === ErrorCode.BackupInProgress)
  await pipeline(first, createWriteStream(join(dir, 'first.ppbak')))
  await eventually(() => assert.doesNotThrow(() => online('acme').destroy()))
  await checkBackupChecksum(join(dir, 'first.ppbak'))
})

test('backup options are parsed strictly', () => {
  const env = { COLLAB_DEV_MODE: 'true' }
  assert.equal(loadConfig(['--backup-interval', '6h', '--backup-dir', '/tmp/b'], env).backupIntervalMs, 6 * 3_600_000)
  assert.equal(loadConfig([], env).backupIntervalMs, 0)
  assert.equal(loadConfig([], env).backupRetentionMs, 30 * 86_400_000)
  assert.equal(loadConfig(['--backup-retention', '90m'], env).backupRetentionMs, 90 * 60_000)
  const refused = (argv: string[]) =>
    assert.throws(() => loadConfig(argv, env), (error: unknown) => isCollabError(error) && error.code === ErrorCode.BadConfig, argv.join(' '))
  for (const bad of ['6 h', '1.5h', '6H', '6hours', '6', '0h', '-1h', 'h', '6d2h']) refused(['--backup-interval', bad, '--backup-dir', '/tmp/b'])
  refused(['--backup-retention', ''])
  refused(['--backup-interval', '6h'])
  refused(['--backup-interval', '6h', '--backup-dir', '/tmp/b', '--postgres-url', 'postgresql://x@127.0.0.1/db'])
})
