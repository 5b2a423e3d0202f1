import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import pg from 'pg'
import { startPostgres, type PostgresInstance } from '../../../shared/testing/postgresInstance.ts'
import { runMigrations, type Migration } from './migrations.ts'
import { MIGRATIONS } from './schema.ts'

let postgres: PostgresInstance
before(async () => {
  postgres = await startPostgres()
})
after(() => postgres.stop())

const poolOn = (url: string) => {
  const pool = new pg.Pool({ connectionString: url, max: 2 })
  pool.on('error', () => {})
  return pool
}

/** The versions this release ships, and one a test adds after them. */
const SHIPPED = MIGRATIONS.map((migration) => migration.version)
const NEXT = Math.max(...SHIPPED) + 1

test('migrations run once: a second run applies nothing and the schema is current', async () => {
  const pool = poolOn(await postgres.createDatabase('once'))
  try {
    assert.deepEqual(await runMigrations(pool, MIGRATIONS), SHIPPED)
    assert.deepEqual(await runMigrations(pool, MIGRATIONS), [])
    const { rows } = await pool.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')
    assert.deepEqual(rows, SHIPPED.map((version) => ({ version })))
    const tables = await pool.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    )
    assert.deepEqual(
      tables.rows.map((row) => row.table_name),
      ['audit_records', 'client_owners', 'conflicts', 'crypto_keyring', 'document_epochs', 'document_state_vectors', 'document_summaries', 'document_updates', 'documents', 'event_bases', 'events', 'notifications', 'reencryption_cursors', 'reviews', 'schema_migrations'],
    )
  } finally {
    await pool.end()
  }
})

test('nodes starting at once: every migration runs exactly once (the advisory lock), none fails', async () => {
  const url = await postgres.createDatabase('concurrent')
  const pools = Array.from({ length: 4 }, () => poolOn(url))
  // A second migration that is slow, so the runners overlap for certain.
  const slow: Migration[] = [...MIGRATIONS, { version: NEXT, name: 'slow', sql: 'SELECT pg_sleep(0.2); CREATE TABLE slow_marker (id integer)' }]
  try {
    const results = await Promise.all(pools.map((pool) => runMigrations(pool, slow)))
    assert.deepEqual(results.flat().sort((a, b) => a - b), [...SHIPPED, NEXT])
    const { rows } = await pools[0]!.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')
    assert.deepEqual(rows, [...SHIPPED, NEXT].map((version) => ({ version })))
  } finally {
    await Promise.all(pools.map((pool) => pool.end()))
  }
})

test('a failing migration leaves the schema at the last complete version and is retried next time', async () => {
  const pool = poolOn(await postgres.createDatabase('failing'))
  try {
    const broken: Migration[] = [...MIGRATIONS, { version: NEXT, name: 'broken', sql: 'CREATE TABLE half_done (id integer); SELECT no_such_function()' }]
    await assert.rejects(runMigrations(pool, broken), (error: Error & { code?: string }) => error.code === 'ERR_PERSISTENCE_FAILED')
    const { rows } = await pool.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')
    assert.deepEqual(rows, SHIPPED.map((version) => ({ version })))
    const half = await pool.query(`SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done'`)
    assert.equal(half.rowCount, 0, 'the failed migration left nothing')
    const fixed: Migration[] = [...MIGRATIONS, { version: NEXT, name: 'fixed', sql: 'CREATE TABLE half_done (id integer)' }]
    assert.deepEqual(await runMigrations(pool, fixed), [NEXT])
  } finally {
    await pool.end()
  }
})
