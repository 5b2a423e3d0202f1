import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { test } from 'node:test'
import pg from 'pg'
import { createClient } from 'redis'
import { startPostgres } from './postgresInstance.ts'
import { startRedis } from './redisInstance.ts'

test('a throwaway PostgreSQL accepts queries on its own database, and stop() removes it', async () => {
  const postgres = await startPostgres()
  const client = new pg.Client({ connectionString: postgres.url })
  await client.connect()
  try {
    const { rows } = await client.query<{ db: string; fsync: string }>(`SELECT current_database() AS db, current_setting('fsync') AS fsync`)
    assert.deepEqual(rows, [{ db: 'collab_test', fsync: 'off' }])
  } finally {
    await client.end()
  }
  assert.ok(existsSync(postgres.directory), 'existsSync(postgres.directory)')
  await postgres.stop()
  assert.equal(existsSync(postgres.directory), false, 'the cluster directory is removed')
  const after = new pg.Client({ connectionString: postgres.url, connectionTimeoutMillis: 2_000 })
  after.on('error', () => {})
  await assert.rejects(after.connect())
})

test('a throwaway Redis answers, stops answering while paused, refuses when killed and restarts empty', async (t) => {
  const redis = await startRedis()
  t.after(() => redis.stop())
  const client = createClient({ url: redis.url, socket: { reconnectStrategy: 20 } })
  client.on('error', () => {})
  await client.connect()
  t.after(() => client.destroy())
  await client.set('k', 'v')
  assert.equal(await client.get('k'), 'v')

  redis.pause()
  const late = client.get('k')
  const answered = await Promise.race([late.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 300))])
  assert.equal(answered, false, 'a paused redis answers nothing')
  redis.resume()
  assert.equal(await late, 'v')

  await redis.kill()
  await assert.rejects(
    createClient({ url: redis.url, socket: { reconnectStrategy: false, connectTimeout: 2_000 } }).on('error', () => {}).connect(),
  )
  await redis.restart()
  const fresh = createClient({ url: redis.url, socket: { reconnectStrategy: false } })
  fresh.on('error', () => {})
  await fresh.connect()
  assert.equal(await fresh.get('k'), null, 'nothing survives a restart')
  fresh.destroy()
})
