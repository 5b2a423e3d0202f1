import assert from 'node:assert/strict'
import { appendFileSync, readdirSync, statSync, truncateSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { WriteAheadLog, type LogRecord } from './writeAheadLog.ts'

const record = (storageName: string, clock: number, value: string): LogRecord => ({
  storageName,
  updateClock: clock,
  firstEventSeq: clock + 1,
  ops: [
    { type: 'put', key: ['v1', storageName, 'update', clock], value: new TextEncoder().encode(value) },
    { type: 'del', key: ['v1', storageName, 'update', clock - 1] },
  ],
})

const segments = (directory: string) => readdirSync(directory).filter((name) => name.endsWith('.wal')).sort()

describe('write-ahead log', () => {
  const cleanups: Array<() => Promise<void>> = []
  after(async () => {
    for (const cleanup of cleanups) await cleanup()
  })
  const directory = async () => {
    const dir = await tempDir('posalpro-wal-')
    cleanups.push(() => dir.remove())
    return join(dir.path, 'wal')
  }

  test('records appended and never applied are handed back, in order and byte for byte, by the next open', async () => {
    const dir = await directory()
    const first = WriteAheadLog.open(dir)
    assert.deepEqual(first.leftOver, [])
    const written = [record('acme/proposal/a', 0, 'one'), record('acme/proposal/b', 0, 'two'), record('acme/proposal/a', 1, 'three')]
    for (const entry of written) first.log.append(entry)
    // No close: the process died with the records unapplied.
    const second = WriteAheadLog.open(dir)
    assert.equal(second.damagedBytes, 0)
    assert.deepEqual(
      second.leftOver.map((entry) => ({ ...entry, ops: entry.ops.map((op) => ({ ...op, ...(op.type === 'put' ? { value: Buffer.from(op.value).toString() } : {}) })) })),
      written.map((entry) => ({ ...entry, ops: entry.ops.map((op) => ({ ...op, ...(op.type === 'put' ? { value: Buffer.from(op.value).toString() } : {}) })) })),
    )
    second.discardLeftOver()
    second.log.close()
    assert.deepEqual(WriteAheadLog.open(dir).leftOver, [], 'discarded segments are gone')
  })

  test('a record cut short by a crash ends the log: the whole records before it are kept, the rest is reported', async () => {
    const dir = await directory()
    const { log } = WriteAheadLog.open(dir)
    log.append(record('acme/proposal/a', 0, 'kept'))
    log.append(record('acme/proposal/a', 1, 'cut short'))
    const [segment] = segments(dir)
    const path = join(dir, segment!)
    truncateSync(path, statSync(path).size - 3)
    const reopened = WriteAheadLog.open(dir)
    assert.equal(reopened.leftOver.length, 1)
    assert.equal(Buffer.from((reopened.leftOver[0]!.ops[0] as { value: Uint8Array }).value).toString(), 'kept')
    assert.ok(reopened.damagedBytes > 0, 'the cut-short record is reported')
  })

  test('a damaged record (checksum) ends the log too: garbage is never replayed', async () => {
    const dir = await directory()
    const { log } = WriteAheadLog.open(dir)
    log.append(record('acme/proposal/a', 0, 'kept'))
    const [segment] = segments(dir)
    // A plausible header (length 4) with a wrong checksum, then 4 bytes.
    appendFileSync(join(dir, segment!), Buffer.from([4, 0, 0, 0, 1, 2, 3, 4, 9, 9, 9, 9]))
    const reopened = WriteAheadLog.open(dir)
    assert.equal(reopened.leftOver.length, 1)
    assert.equal(reopened.damagedBytes, 12)
  })

  test('a segment is deleted once every record in it was applied, and the active one at close', async () => {
    const dir = await directory()
    // Tiny segments: every append fills one, so each record gets its own file.
    const { log } = WriteAheadLog.open(dir, { segmentBytes: 1 })
    const appliedFirst = log.append(record('acme/proposal/a', 0, 'one'))
    const appliedSecond = log.append(record('acme/proposal/a', 1, 'two'))
    assert.equal(segments(dir).length, 3, 'two full segments and the new active one')
    appliedSecond()
    assert.equal(segments(dir).length, 2, 'the second segment went once its record was applied')
    appliedFirst()
    assert.equal(segments(dir).length, 1)
    log.close()
    assert.deepEqual(segments(dir), [])
  })

  test('a record LevelDB refused keeps its segment and stops the log: later writes fail with ERR_PERSISTENCE_FAILED', async () => {
    const dir = await directory()
    const { log } = WriteAheadLog.open(dir)
    log.append(record('acme/proposal/a', 0, 'refused by LevelDB'))
    log.fail('disk full')
    assert.throws(() => log.append(record('acme/proposal/a', 1, 'later')), { code: 'ERR_PERSISTENCE_FAILED' })
    log.close()
    const reopened = WriteAheadLog.open(dir)
    assert.equal(reopened.leftOver.length, 1, 'the refused record is replayed at the next start')
  })
})
