import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as Y from 'yjs'
import { isCollabError } from '../../../shared/errors.ts'
import { eventually } from '../../../shared/testing/eventually.ts'
import { startPostgres } from '../../../shared/testing/postgresInstance.ts'
import { PostgresDocumentStore } from './postgresDocumentStore.ts'

const persistenceFailed = (error: unknown) => isCollabError(error) && error.code === 'ERR_PERSISTENCE_FAILED'

const updateOf = (doc: Y.Doc, key: string): Uint8Array => {
  let update: Uint8Array | null = null
  doc.once('update', (bytes: Uint8Array) => (update = bytes))
  doc.getMap('meta').set(key, true)
  return update!
}

test('PostgreSQL paused or down: writes and reads fail with ERR_PERSISTENCE_FAILED instead of waiting, and work again once it is back', async (t) => {
  const postgres = await startPostgres()
  t.after(() => postgres.stop())
  const store = await PostgresDocumentStore.open(postgres.url, { queryTimeoutMs: 1_000, connectTimeoutMs: 1_000, statementTimeoutMs: 500 })
  t.after(() => store.close())
  const document = 'acme/proposal/unavailable'
  const doc = new Y.Doc()
  await store.appendBatch(document, 1, { update: updateOf(doc, 'before') })

  postgres.pause()
  try {
    await assert.rejects(store.appendBatch(document, 1, { update: updateOf(doc, 'paused') }), persistenceFailed)
    await assert.rejects(store.loadUpdates(document), persistenceFailed)
  } finally {
    postgres.resume()
  }
  // The write that failed was never committed (its transaction died with the timeout): only
  // what was acknowledged is there.
  const after = await eventually(() => store.loadUpdates(document))
  assert.equal(after.length, 1)
  await eventually(() => store.appendBatch(document, 1, { update: Y.encodeStateAsUpdate(doc) }))

  await postgres.kill()
  await assert.rejects(store.appendBatch(document, 1, { update: updateOf(doc, 'down') }), persistenceFailed)
  await assert.rejects(store.loadUpdates(document), persistenceFailed)
})
