import type pg from 'pg'
import { CollabError, ErrorCode } from '../../../shared/errors.ts'

/**
 * Runs `work` in one transaction on one pooled connection: committed when it resolves, rolled
 * back when it throws. Every failure is a CollabError: the code `work` threw (ERR_STALE_EPOCH),
 * or ERR_PERSISTENCE_FAILED for the database's own. A COMMIT whose answer is lost (the connection
 * dropped) may or may not have committed: it fails too, so nothing is ever acknowledged on a
 * guess; the caller reloads from the store, which holds one outcome or the other.
 */
export const inTransaction = async <T>(pool: pg.Pool, label: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
  let client: pg.PoolClient
  try {
    client = await pool.connect()
  } catch (error) {
    throw persistenceFailed(label, error)
  }
  // A connection lost while checked out also emits 'error' on the client, which with no listener
  // would crash the process; the failed query reports it (ERR_PERSISTENCE_FAILED) anyway.
  const ignore = () => {}
  client.on('error', ignore)
  // A connection whose state is unknown (its ROLLBACK failed) is closed, not reused.
  let broken = false
  try {
    await client.query('BEGIN')
    const result = await work(client)
    await client.query('COMMIT')
    return result
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {
      broken = true
    })
    throw error instanceof CollabError ? error : persistenceFailed(label, error)
  } finally {
    client.off('error', ignore)
    client.release(broken)
  }
}

export const persistenceFailed = (label: string, error: unknown): CollabError => {
  const { message, code } = error as Error & { code?: string }
  return new CollabError(ErrorCode.PersistenceFailed, `${label}: ${code ? `${code}: ` : ''}${message}`)
}
