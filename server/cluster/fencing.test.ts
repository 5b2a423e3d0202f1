import assert from 'node:assert/strict'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import * as Y from 'yjs'
import { eventually } from '../../shared/testing/eventually.ts'
import { startPostgres, type PostgresInstance } from '../../shared/testing/postgresInstance.ts'
import { startRedis, type RedisInstance } from '../../shared/testing/redisInstance.ts'
import { startThrowaway } from '../../shared/testing/throwawayProcess.ts'
import { PostgresDocumentStore } from '../persistence/postgres/postgresDocumentStore.ts'
import { DocumentLeases } from './documentLease.ts'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

let redis: RedisInstance
let postgres: PostgresInstance
before(async () => {
  ;[redis, postgres] = await Promise.all([startRedis(), startPostgres()])
})
after(async () => {
  await Promise.all([redis.stop(), postgres.stop()])
})

test('an owner paused past its lease (SIGSTOP) never writes again once another node took the document over', async (t) => {
  const document = 'acme/proposal/paused'
  const owner = startThrowaway(process.execPath, ['--import', 'tsx', path.join(ROOT, 'server/cluster/testing/pausedOwner.ts'), redis.url, postgres.url, document, '500'], { cwd: ROOT })
  t.after(() => owner.stop('SIGKILL'))
  const lines = () =>
    owner
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { acquired?: number; wrote?: number; refused?: string; epoch?: number })
  const oldEpoch = await eventually(() => {
    const acquired = lines().find((line) => line.acquired !== undefined)?.acquired
    assert.ok(acquired !== undefined && lines().some((line) => line.wrote !== undefined), `owner not writing yet:\n${owner.output()}`)
    return acquired
  })

  owner.child.kill('SIGSTOP')
  const store = await PostgresDocumentStore.open(postgres.url)
  const leases = new DocumentLeases(redis.url, { nodeId: 'new-owner', leaseMs: 10_000 })
  try {
    // The paused owner's lease runs out; the new owner takes the document with a higher epoch.
    const lease = await eventually(async () => {
      const attempt = await leases.acquire(document, { after: await store.highestEpoch(document) })
      assert.ok(attempt.acquired, 'still held by the paused owner')
      return attempt.lease
    })
    assert.ok(lease.epoch > oldEpoch, 'lease.epoch > oldEpoch')
    // The new owner claims the document before it loads it. Should the old owner have been paused
    // inside its transaction, this waits until PostgreSQL ends that session.
    await store.claim(document, lease.epoch)
    const loaded = await store.loadUpdates(document)

    owner.child.kill('SIGCONT')
    await eventually(() => assert.ok(lines().some((line) => line.refused === 'ERR_STALE_EPOCH'), `not refused yet:\n${owner.output()}`))
    assert.equal(await owner.exited, 0)
    assert.deepEqual(await store.loadUpdates(document), loaded, 'nothing was written behind the new owner')

    const doc = new Y.Doc()
    for (const bytes of loaded) Y.applyUpdate(doc, bytes)
    let update: Uint8Array | null = null
    doc.once('update', (bytes: Uint8Array) => (update = bytes))
    doc.getMap('meta').set('taken-over', true)
    await store.appendBatch(document, lease.epoch, { update: update! })

    // Nothing the old owner wrote is stored after the new owner's first write.
    const client = new pg.Client({ connectionString: postgres.url })
    await client.connect()
    const { rows } = await client.query<{ epoch: string }>('SELECT epoch FROM document_updates WHERE document = $1 ORDER BY clock', [document])
    await client.end()
    const epochs = rows.map((row) => Number(row.epoch))
    const firstNew = epochs.indexOf(lease.epoch)
    assert.ok(firstNew > 0, 'the old owner wrote first, then the new one')
    assert.deepEqual(epochs.slice(firstNew), epochs.slice(firstNew).map(() => lease.epoch))
    // The refused writes never happened: the stored document has the new owner's change and only what the old owner wrote before.
    const stored = new Y.Doc()
    for (const bytes of await store.loadUpdates(document)) Y.applyUpdate(stored, bytes)
    const wrote = lines().filter((line) => line.wrote !== undefined).length
    assert.equal(stored.getMap('meta').get('taken-over'), true)
    assert.equal([...stored.getMap('meta').keys()].filter((key) => key.startsWith('paused-')).length, wrote)
  } finally {
    leases.close()
    await store.close()
  }
})
