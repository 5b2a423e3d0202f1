import type pg from 'pg'
import { isCollabError } from '../../../shared/errors.ts'
import { persistenceFailed } from './transaction.ts'

/** One step of the schema. Versions only ever grow; a released migration is never edited. */
export interface Migration {
  readonly version: number
  readonly name: string
  /** SQL run in the migration's own transaction (PostgreSQL's DDL is transactional). */
  readonly sql: string
}

/**
 * The advisory lock every migration runner takes (an arbitrary constant, the same in every
 * node): two nodes starting at once take turns, and the second finds the first's work recorded.
 */
const MIGRATION_LOCK = 7_318_246_001

/**
 * Brings the database's schema up to date: each migration not yet in `schema_migrations` runs
 * once, in order, in a transaction of its own that also records it, so a failure leaves the
 * schema at the last complete version. The whole run holds a session-level advisory lock.
 * Returns the versions applied by this run (none when the schema was current).
 */
export const runMigrations = async (pool: pg.Pool, migrations: readonly Migration[]): Promise<number[]> => {
  const ordered = [...migrations].sort((a, b) => a.version - b.version)
  ordered.forEach((migration, index) => {
    if (index > 0 && migration.version === ordered[index - 1]!.version) throw new Error(`two migrations are version ${migration.version}`)
  })
  let client: pg.PoolClient
  try {
    client = await pool.connect()
  } catch (error) {
    throw persistenceFailed('migrations', error)
  }
  let broken = false
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK])
    try {
      await client.query(`
        CREATE TABLE IF NOT EXISTS schema_migrations (
          version integer PRIMARY KEY,
          name text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now()
        )`)
      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations')
      const done = new Set(rows.map((row) => row.version))
      const applied: number[] = []
      for (const migration of ordered) {
        if (done.has(migration.version)) continue
        try {
          await client.query('BEGIN')
          await client.query(migration.sql)
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name])
          await client.query('COMMIT')
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {
            broken = true
          })
          throw persistenceFailed(`migration ${migration.version} (${migration.name})`, error)
        }
        applied.push(migration.version)
      }
      return applied
    } finally {
      if (!broken) await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => (broken = true))
    }
  } catch (error) {
    throw isCollabError(error) ? error : persistenceFailed('migrations', error)
  } finally {
    // A broken connection is closed, which also frees its advisory lock.
    client.release(broken)
  }
}
