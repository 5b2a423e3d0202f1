import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, test } from 'node:test'
import pg from 'pg'
import * as Y from 'yjs'
import { ErrorCode, isCollabError } from '../../../shared/errors.ts'
import { startPostgres, type PostgresInstance } from '../../../shared/testing/postgresInstance.ts'
import { filesContaining } from '../../testing/atRestFiles.ts'
import type { EventRecord } from '../eventLog.ts'
import type { ReviewItem } from '../../reviews/reviewItem.ts'
import { PostgresStorage } from './postgresStorage.ts'

/** Encryption at rest on PostgreSQL: nothing readable in the cluster's files, nothing opened without the key, a moved row detected. */

const TITLE = 'Kilimanjaro Cable Car Concession'
const CUSTOMER = 'Xochimilco Ferry Cooperative'

let postgres: PostgresInstance
before(async () => {
  postgres = await startPostgres()
})
after(() => postgres.stop())

const expectCode = (code: string) => (error: unknown) => {
  assert.ok(isCollabError(error), `expected a CollabError, got ${String(error)}`)
  assert.equal(error.code, code, error.message)
  return true
}

const textUpdate = (root: string, text: string): Uint8Array => {
  const doc = new Y.Doc()
  doc.getText(root).insert(0, text)
  return Y.encodeStateAsUpdate(doc)
}

const event = (seq: number, update: Uint8Array): EventRecord => ({
  seq,
  at: Date.now(),
  userId: 'alice',
  device: null,
  outcome: 'review',
  applied: true,
  ruleIds: ['approver-role'],
  paths: ['title'],
  update,
  reviewId: 'r-1',
})

const review: ReviewItem = {
  id: 'r-1',
  tenant: 'acme',
  document: 'proposal/p-1',
  eventSeq: 1,
  ruleId: 'approver-role',
  status: 'pending',
  proposer: { userId: 'alice', device: null },
  proposedAt: Date.now(),
  changes: [{ path: 'meta.customerName', proposedValue: CUSTOMER, previousValue: null }],
} as unknown as ReviewItem

test('with a master key the cluster files hold no title or customer name; the key reads them back; no key or another key is refused; a moved row is detected', async () => {
  const url = await postgres.createDatabase('at_rest')
  const masterKey = randomBytes(32)
  const store = await PostgresStorage.open(url, { atRest: { masterKey } })
  const title = textUpdate('title', TITLE)
  await store.appendBatch('acme/proposal/p-1', { update: title, stateVector: Y.encodeStateVectorFromUpdate(title), events: [event(1, title)], reviews: [review] })
  await store.appendBatch('acme/customer/c-1', { update: textUpdate('name', CUSTOMER) })
  await store.appendBatch('acme/proposal/p-2', { update: textUpdate('title', 'another') })
  await store.close()
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  pool.on('error', () => {})
  try {
    await pool.query('CHECKPOINT')
    assert.deepEqual(filesContaining(postgres.directory, TITLE), [])
    assert.deepEqual(filesContaining(postgres.directory, CUSTOMER), [])

    await assert.rejects(PostgresStorage.open(url), expectCode(ErrorCode.MasterKeyRequired))
    await assert.rejects(PostgresStorage.open(url, { atRest: { masterKey: randomBytes(32) } }), expectCode(ErrorCode.WrongMasterKey))

    const reopened = await PostgresStorage.open(url, { atRest: { masterKey } })
    try {
      const { doc } = await reopened.loadDoc('acme/proposal/p-1')
      assert.equal(doc.getText('title').toString(), TITLE)
      assert.equal((await reopened.readEvents('acme/proposal/p-1'))[0]?.userId, 'alice')
      assert.equal((await reopened.getReview('acme', 'r-1'))?.changes[0]?.proposedValue, CUSTOMER)
      // One document's update copied over another's, byte for byte.
      await pool.query(`UPDATE document_updates SET "update" = (SELECT "update" FROM document_updates WHERE document = 'acme/proposal/p-1' AND clock = 0) WHERE document = 'acme/proposal/p-2' AND clock = 0`)
      await assert.rejects(reopened.loadUpdates('acme/proposal/p-2'), expectCode(ErrorCode.RecordNotAuthentic))
    } finally {
      await reopened.close()
    }
  } finally {
    await pool.end()
  }
})
