import pg from 'pg'
import { CollabError, ErrorCode } from '../../../shared/errors.ts'

/**
 * Runs `work` in one transaction on one pooled connection: committed when it resolves, rolled
 * back when it throws. Every failure is a CollabError: the code `work` threw (ERR_STALE_EPOCH),
 * or ERR_PERSISTENCE_FAILED for the database's own. A COMMIT whose answer is lost (the connection
 * dropped) may or may not have committed: it fails too, so nothing is ever acknowledged on a
 * guess; the caller reloads from the store, which holds one outcome or the other.
 */
export const inTransaction = async <T>(
  pool: pg.Pool,
  label: string,
  work: (client: pg.PoolClient) => Promise<T>,
  /** What opens the transaction: BEGIN, or BEGIN with a first statement riding on it (`beginWith`). */
  begin: (client: pg.PoolClient) => Promise<unknown> = (client) => client.query('BEGIN'),
): Promise<T> => {
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
    await begin(client)
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

/**
 * BEGIN and `statement` in one round trip, the transaction left open (for `inTransaction`'s
 * COMMIT): the BEGIN's Parse, Bind and Execute messages are written ahead of the statement's, in
 * the one write that ends with their Sync, and PostgreSQL runs them in order. Rejects with the
 * statement's own error (its SQLSTATE in `code`).
 */
export const beginWith = (client: pg.PoolClient, statement: { readonly text: string; readonly values: unknown[] }): Promise<void> =>
  new Promise((resolve, reject) => {
    client.query(new BegunQuery(statement, (error) => (error ? reject(error) : resolve())))
  })

/** The protocol messages a query writes (pg's `Connection`), as far as `BegunQuery` uses them. */
interface ProtocolWriter {
  parse(query: { text: string }): void
  bind(config: object): void
  execute(config: object): void
}

/**
 * pg's Query writes its Parse, Bind, Describe, Execute and Sync in `prepare`, inside one corked
 * write (the extended protocol, as every query with values); this one writes BEGIN's first. The
 * unnamed statement and portal BEGIN used are replaced by the query's own.
 */
class BegunQuery extends pg.Query {
  /** Always the extended protocol: a simple query (no values) would skip `prepare`, and with it the BEGIN. */
  requiresPreparation(): boolean {
    return true
  }

  prepare(connection: ProtocolWriter): void {
    connection.parse({ text: 'BEGIN' })
    connection.bind({})
    connection.execute({})
    ;(pg.Query.prototype as unknown as { prepare(connection: ProtocolWriter): void }).prepare.call(this, connection)
  }
}

export const persistenceFailed = (label: string, error: unknown): CollabError => {
  const { message, code } = error as Error & { code?: string }
  return new CollabError(ErrorCode.PersistenceFailed, `${label}: ${code ? `${code}: ` : ''}${message}`)
}
