import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import pg from 'pg'
import { startPostgres, type PostgresInstance } from '../../../shared/testing/postgresInstance.ts'
import { beginWith } from './transaction.ts'

let postgres: PostgresInstance
let pool: pg.Pool
before(async () => {
  postgres = await startPostgres()
  pool = new pg.Pool({ connectionString: postgres.url, max: 3 })
  await pool.query('CREATE TABLE written (value integer)')
})
after(async () => {
  await pool.end()
  await postgres.stop()
})

/** What another session sees. */
const seen = async () => (await pool.query<{ value: number }>('SELECT value FROM written ORDER BY value')).rows.map((row) => row.value)

test('a statement written with its BEGIN runs inside the transaction it opens: nobody sees it before the COMMIT, a ROLLBACK takes it back', async () => {
  const client = await pool.connect()
  try {
    await beginWith(client, { text: 'INSERT INTO written VALUES ($1::integer)', values: [1] })
    assert.deepEqual(await seen(), [], 'not committed by itself')
    await client.query('ROLLBACK')
    assert.deepEqual(await seen(), [], 'rolled back')

    await beginWith(client, { text: 'INSERT INTO written VALUES ($1::integer)', values: [2] })
    await client.query('COMMIT')
    assert.deepEqual(await seen(), [2])

    // Without values too (pg would send it as a simple query, without the BEGIN).
    await beginWith(client, { text: 'INSERT INTO written VALUES (3)', values: [] })
    assert.deepEqual(await seen(), [2], 'not committed by itself either')
    await client.query('ROLLBACK')

    // A failing statement rejects with its own SQLSTATE and leaves a failed transaction to roll back.
    await assert.rejects(beginWith(client, { text: 'SELECT 1 / $1::integer', values: [0] }), (error: unknown) => (error as { code?: string }).code === '22012')
    await assert.rejects(client.query('SELECT 1'), (error: unknown) => (error as { code?: string }).code === '25P02', 'inside the aborted transaction')
    await client.query('ROLLBACK')
    assert.deepEqual((await client.query('SELECT 1 AS one')).rows, [{ one: 1 }], 'the connection works on')
  } finally {
    client.release()
  }
})
