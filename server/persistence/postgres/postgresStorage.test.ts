import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as Y from 'yjs'
import { isCollabError } from '../../../shared/errors.ts'
import { eventually } from '../../../shared/testing/eventually.ts'
import { startPostgres } from '../../../shared/testing/postgresInstance.ts'
import { PostgresStorage } from './postgresStorage.ts'

const edit = (doc: Y.Doc, key: string): Uint8Array => {
  let update: Uint8Array | null = null
  doc.once('update', (bytes: Uint8Array) => (update = bytes))
  doc.getMap('meta').set(key, true)
  return update!
}

const contentOf = (updates: readonly Uint8Array[]) => {
  const doc = new Y.Doc()
  for (const update of updates) Y.applyUpdate(doc, update)
  return doc.getMap('meta').toJSON()
}

test('two stores on one database: the later claim fences the earlier one (ERR_STALE_EPOCH, nothing stored) until it claims again', async (t) => {
  const postgres = await startPostgres()
  t.after(() => postgres.stop())
  const [first, second] = await Promise.all([PostgresStorage.open(postgres.url), PostgresStorage.open(postgres.url)])
  t.after(() => Promise.all([first.close(), second.close()]))
  const document = 'acme/proposal/fenced'
  const doc = new Y.Doc()
  await first.claim(document)
  await first.appendBatch(document, { update: edit(doc, 'first') })
  await second.claim(document)
  await assert.rejects(first.appendBatch(document, { update: edit(doc, 'refused') }), (error: unknown) => isCollabError(error) && error.code === 'ERR_STALE_EPOCH')
  await assert.rejects(first.compact(document), (error: unknown) => isCollabError(error) && error.code === 'ERR_STALE_EPOCH')
  await second.appendBatch(document, { update: edit(new Y.Doc(), 'second') })
  assert.deepEqual(contentOf(await second.loadUpdates(document)), { first: true, second: true })
  // A room of the first store loads it again: it writes, and the second is fenced in turn.
  first.release(document)
  await first.claim(document)
  await first.appendBatch(document, { update: edit(new Y.Doc(), 'again') })
  await assert.rejects(second.appendBatch(document, { update: edit(new Y.Doc(), 'late') }), (error: unknown) => isCollabError(error) && error.code === 'ERR_STALE_EPOCH')
  assert.deepEqual(contentOf(await first.loadUpdates(document)), { first: true, second: true, again: true })
})

test('healthy follows whether the database answers, probed on its own; the location hides the password', async (t) => {
  const postgres = await startPostgres()
  t.after(() => postgres.stop())
  // Trust authentication ignores the password: it only has to stay out of the logs.
  const url = new URL(postgres.url)
  url.password = 'secret'
  const store = await PostgresStorage.open(url.toString(), { healthProbeMs: 100, connectTimeoutMs: 1_000 })
  t.after(() => store.close())
  assert.doesNotMatch(store.location, /secret/)
  assert.match(store.location, /^postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:/)
  assert.equal(store.healthy, true)
  await postgres.kill()
  await eventually(() => assert.equal(store.healthy, false))
})
