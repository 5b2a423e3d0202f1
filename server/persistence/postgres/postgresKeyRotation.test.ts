import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, test } from 'node:test'
import pg from 'pg'
import * as Y from 'yjs'
import { ErrorCode, isCollabError } from '../../../shared/errors.ts'
import { startPostgres, type PostgresInstance } from '../../../shared/testing/postgresInstance.ts'
import { eventually } from '../../../shared/testing/eventually.ts'
import type { ConflictRecord as Conflict } from '../../../shared/conflictRecord.ts'
import { Keyring } from '../../crypto/keyring.ts'
import { RecordCodec } from '../../crypto/recordCodec.ts'
import type { Notification } from '../../notifications/notification.ts'
import type { ReviewItem } from '../../reviews/reviewItem.ts'
import { postgresAuditLog } from '../../audit/postgresAuditLog.ts'
import type { AuditRecord } from '../../audit/auditRecord.ts'
import type { EventRecord } from '../eventLog.ts'
import { reencrypt, type KeyManagedStore } from '../reencryption.ts'
import { SEALED_TABLES } from './postgresReencryption.ts'
import { PostgresStorage } from './postgresStorage.ts'

/**
 * Key rotation and re-encryption on PostgreSQL with several nodes on one database: each node a
 * store of its own (its own pool and keyring in memory), as cluster mode runs them.
 */

let postgres: PostgresInstance
before(async () => {
  postgres = await startPostgres()
})
after(() => postgres.stop())

const TENANT = 'acme'
/** Tables that hold no sealed value: bookkeeping of the store itself. */
const UNSEALED_TABLES = new Set(['schema_migrations', 'crypto_keyring', 'reencryption_cursors', 'document_epochs', 'documents'])

const expectCode = (code: string) => (error: unknown) => {
  assert.ok(isCollabError(error), `expected a CollabError, got ${String(error)}`)
  assert.equal(error.code, code, error.message)
  return true
}

/** One write of `text` at the end of `document`'s title, as a node's room would store it (update, state vector, event, owner). */
const writer = (store: PostgresStorage, document: string) => {
  const doc = new Y.Doc()
  let seq = 0
  const typed: string[] = []
  return {
    typed,
    async write(text: string) {
      const before = Y.encodeStateVector(doc)
      doc.getText('title').insert(doc.getText('title').length, text)
      const update = Y.encodeStateAsUpdate(doc, before)
      seq++
      const event: EventRecord = { seq, at: Date.now(), userId: 'alice', device: null, outcome: 'accepted', applied: true, ruleIds: [], paths: ['title'], update }
      await store.appendBatch(document, { update, stateVector: Y.encodeStateVector(doc), events: [event], owners: [{ client: doc.clientID, userId: 'alice' }] })
      typed.push(text)
    },
  }
}

/** A row of every other sealed kind: review, conflict, notification, summary, audit record. */
const writeOtherRows = async (store: PostgresStorage, document: string, tag: string) => {
  const tenant = document.slice(0, document.indexOf('/'))
  const review = { id: `r-${tag}`, tenant, document: document.slice(tenant.length + 1), eventSeq: 1, ruleId: 'approver-role', status: 'pending', changes: [] } as unknown as ReviewItem
  const conflict = { id: `1-${tag.length}`, eventSeq: 1, path: 'title' } as unknown as Conflict
  await store.appendBatch(document, { update: null, reviews: [review], conflicts: [conflict] })
  await store.writeNotifications(tenant, 'alice', { put: [{ id: `n-${tag}`, tenant, userId: 'alice', kind: 'review-decided' } as unknown as Notification], drop: [] })
  await store.fenced.writeSummaries([{ tenant, document, summary: { title: tag } }])
  await postgresAuditLog(store).append([{ id: `000000000000001-${tag}`, tenant, at: 1, user: 'alice' } as unknown as AuditRecord])
}

/** Per tenant, the data key ids named by the sealed rows, straight from the tables' bytes. */
const keyIdsInTables = async (url: string): Promise<Map<string, Map<number | null, number>>> => {
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  try {
    const { rows: tables } = await pool.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'")
    const known = new Set(SEALED_TABLES.map((table) => table.name))
    for (const { name } of tables) assert.ok(known.has(name) || UNSEALED_TABLES.has(name), `table ${name} is neither re-encrypted nor known to hold nothing sealed`)
    const counts = new Map<string, Map<number | null, number>>()
    const keyIdOf = RecordCodec.prototype.keyIdOf
    for (const table of SEALED_TABLES) {
      const owner = table.tenant === 'tenant' ? 'tenant' : 'document'
      const { rows } = await pool.query<{ owner: string; value: unknown }>(`SELECT ${owner} AS owner, "${table.column}" AS value FROM ${table.name}`)
      for (const row of rows) {
        const tenant = table.tenant === 'tenant' ? row.owner : row.owner.slice(0, row.owner.indexOf('/'))
        const bytes = table.kind === 'bytes' ? (row.value as Buffer) : Buffer.from(table.kind === 'text' ? String(row.value) : String((row.value as { sealed: string }).sealed), 'base64')
        const id = keyIdOf.call(null as never, bytes)
        const perTenant = counts.get(tenant) ?? new Map<number | null, number>()
        perTenant.set(id, (perTenant.get(id) ?? 0) + 1)
        counts.set(tenant, perTenant)
      }
    }
    return counts
  } finally {
    await pool.end()
  }
}

const keyIdOfNewest = async (url: string, document: string): Promise<number> => {
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  try {
    const { rows } = await pool.query<{ update: Buffer }>('SELECT "update" FROM document_updates WHERE document = $1 ORDER BY clock DESC LIMIT 1', [document])
    return rows[0]!.update.readUInt32BE(1)
  } finally {
    await pool.end()
  }
}

test('rotation on one node is used by every node at once; re-encryption on another under live writes from both loses nothing and leaves no row under the old key', async () => {
  const url = await postgres.createDatabase('rotation_live')
  const masterKey = randomBytes(32)
  const nodeA = await PostgresStorage.open(url, { atRest: { masterKey } })
  const nodeB = await PostgresStorage.open(url, { atRest: { masterKey } })
  // A node that only reads, and has not written since before the rotation.
  const nodeC = await PostgresStorage.open(url, { atRest: { masterKey } })
  try {
    const writers = [writer(nodeA, `${TENANT}/proposal/a-1`), writer(nodeA, `${TENANT}/proposal/a-2`), writer(nodeB, `${TENANT}/proposal/b-1`), writer(nodeB, 'globex/proposal/g-1')]
    for (const each of writers) for (let i = 0; i < 5; i++) await each.write(`x${i} `)
    await writeOtherRows(nodeA, `${TENANT}/proposal/a-1`, 'a')
    await writeOtherRows(nodeB, `${TENANT}/proposal/b-1`, 'b')
    assert.equal((await nodeC.loadDoc(`${TENANT}/proposal/a-1`)).doc.getText('title').toString(), 'x0 x1 x2 x3 x4 ')

    let typing = true
    const typists = writers.map(async (each, index) => {
      for (let i = 0; typing; i++) await each.write(`w${index}.${i} `)
    })
    try {
      await eventually(() => assert.ok(writers.every((each) => each.typed.length > 7), 'every writer is typing'))
      assert.deepEqual(await nodeA.rotateDataKeys(TENANT), { [TENANT]: 2 })
      // Node B never heard of the rotation: its very next write is sealed with the new key.
      const afterRotation = writer(nodeB, `${TENANT}/proposal/b-new`)
      await afterRotation.write('first ')
      assert.equal(await keyIdOfNewest(url, `${TENANT}/proposal/b-new`), 2)
      // Node B's writer that was typing throughout: its writes after the rotation are under the new key too.
      const before = writers[2]!.typed.length
      await eventually(() => assert.ok(writers[2]!.typed.length > before + 1, 'node B kept writing'))
      assert.equal(await keyIdOfNewest(url, `${TENANT}/proposal/b-1`), 2)
      // Node C reads a record sealed under a key it has not loaded.
      assert.equal((await nodeC.loadDoc(`${TENANT}/proposal/b-new`)).doc.getText('title').toString(), 'first ')

      // Re-encryption on node B (not the one that rotated), both nodes writing throughout.
      const finished = await reencrypt(nodeB, TENANT)
      assert.ok(finished.done, 'the pass on node B finished')
      assert.ok(finished.rewritten > 0, 'the pass rewrote records under the old key')
    } finally {
      typing = false
      await Promise.all(typists)
    }

    const byTenant = await keyIdsInTables(url)
    assert.deepEqual([...byTenant.get(TENANT)!.keys()], [2], `rows of ${TENANT} by data key id: ${JSON.stringify([...byTenant.get(TENANT)!])}`)
    assert.deepEqual([...byTenant.get('globex')!.keys()], [1], 'another tenant is left alone')
    // A node started now (nothing in memory) opens every row; nothing typed was lost.
    const fresh = await PostgresStorage.open(url, { atRest: { masterKey } })
    try {
      for (const [index, each] of writers.entries()) {
        const document = [`${TENANT}/proposal/a-1`, `${TENANT}/proposal/a-2`, `${TENANT}/proposal/b-1`, 'globex/proposal/g-1'][index]!
        assert.equal((await fresh.loadDoc(document)).doc.getText('title').toString(), each.typed.join(''), document)
        assert.equal((await fresh.readEvents(document)).length, each.typed.length)
        assert.equal((await fresh.clientOwners(document))[0]?.userId, 'alice')
      }
      assert.equal((await fresh.getReview(TENANT, 'r-a'))?.id, 'r-a')
      assert.equal((await fresh.listConflicts(`${TENANT}/proposal/b-1`)).length, 1)
      assert.equal((await fresh.notifications(TENANT, 'alice')).length, 2)
      assert.equal((await fresh.fenced.summaries()).length, 2)
      assert.equal((await postgresAuditLog(fresh).read(TENANT, { from: 0, to: Date.now(), limit: 10 })).length, 2)
      // Node C, which loaded the keyring before the rotation and the retirement, reads too.
      assert.equal((await nodeC.loadDoc(`${TENANT}/proposal/a-2`)).doc.getText('title').toString(), writers[1]!.typed.join(''))
      assert.deepEqual(await fresh.currentKeyIds(), { [TENANT]: 2, globex: 1 })
    } finally {
      await fresh.close()
    }
    const pool = new pg.Pool({ connectionString: url, max: 1 })
    const { rows } = await pool.query<{ state: { dataKeys: Array<{ tenant: string; id: number }> } }>('SELECT state FROM crypto_keyring')
    await pool.end()
    assert.deepEqual(rows[0]!.state.dataKeys.filter((key) => key.tenant === TENANT).map((key) => key.id), [2], 'the old key is retired')
  } finally {
    await nodeA.close()
    await nodeB.close()
    await nodeC.close()
  }
})

test('an interrupted re-encryption resumes from its stored cursor (on another node) and retires the old key only at the end', async () => {
  const url = await postgres.createDatabase('rotation_resume')
  const masterKey = randomBytes(32)
  const nodeA = await PostgresStorage.open(url, { atRest: { masterKey } })
  const nodeB = await PostgresStorage.open(url, { atRest: { masterKey } })
  try {
    const writers = Array.from({ length: 120 }, (_, index) => writer(nodeA, `${TENANT}/proposal/p-${index}`))
    for (const each of writers) await each.write('hello ')
    await nodeA.rotateDataKeys(TENANT)
    const total = await nodeA.countRecords(TENANT)
    assert.equal(total, 120 * 4)
    // The pass stops (an error, a node going down) after its second chunk.
    let chunks = 0
    const failing: KeyManagedStore = Object.assign(Object.create(nodeA) as PostgresStorage, {
      resealChunk: async (...args: Parameters<PostgresStorage['resealChunk']>) => {
        if (++chunks > 2) throw new Error('node lost')
        return nodeA.resealChunk(...args)
      },
    })
    await assert.rejects(reencrypt(failing, TENANT), /node lost/)
    const cursor = await nodeB.loadReencryptionCursor(TENANT)
    assert.ok(cursor?.after, 'the cursor is stored')
    assert.ok(cursor.scanned > 0 && cursor.scanned < total, `stopped part way: ${cursor.scanned} of ${total}`)
    assert.deepEqual((await keyIdsInTables(url)).get(TENANT)!.get(1), total - cursor.scanned, 'the rest still under the old key, which is kept')
    assert.deepEqual(await nodeB.currentKeyIds(), { [TENANT]: 2 })

    const progress: number[] = []
    const finished = await reencrypt(nodeB, TENANT, (step) => progress.push(step.scanned))
    assert.equal(finished.scanned, total, 'resumed, not started over')
    assert.ok(progress[0]! > cursor.scanned, 'the first chunk after resuming counts on from the cursor')
    assert.equal(await nodeB.loadReencryptionCursor(TENANT), null)
    assert.deepEqual([...(await keyIdsInTables(url)).get(TENANT)!.keys()], [2])
    for (const [index, each] of writers.entries()) assert.equal((await nodeA.loadDoc(`${TENANT}/proposal/p-${index}`)).doc.getText('title').toString(), each.typed.join(''))
  } finally {
    await nodeA.close()
    await nodeB.close()
  }
})

test('without a master key there are no keys to rotate: ERR_MASTER_KEY_REQUIRED', async () => {
  const url = await postgres.createDatabase('rotation_plain')
  const store = await PostgresStorage.open(url)
  try {
    await assert.rejects(store.rotateDataKeys(TENANT), expectCode(ErrorCode.MasterKeyRequired))
  } finally {
    await store.close()
  }
})

test('master-key rotation online on PostgreSQL: one node re-wraps while both write; the other follows from its re-read key file; a wrong key changes nothing; afterwards only the new key opens', async () => {
  const url = await postgres.createDatabase('master_rotation')
  const [k1, k2, k3] = [randomBytes(32), randomBytes(32), randomBytes(32)]
  // Each node's master key file, as the node would read it again.
  const files = { a: [k1], b: [k1] }
  const nodeA = await PostgresStorage.open(url, { atRest: { masterKey: k1, rereadMasterKeys: async () => files.a } })
  const nodeB = await PostgresStorage.open(url, { atRest: { masterKey: k1, rereadMasterKeys: async () => files.b } })
  const readRow = async () => {
    const pool = new pg.Pool({ connectionString: url, max: 1 })
    const { rows } = await pool.query<{ state: unknown; version: string }>('SELECT state, version FROM crypto_keyring')
    await pool.end()
    return rows[0]!
  }
  const writers = [writer(nodeA, `${TENANT}/proposal/m-a`), writer(nodeB, `${TENANT}/proposal/m-b`)]
  try {
    for (const each of writers) await each.write('before ')
    let typing = true
    const typists = writers.map(async (each, index) => {
      for (let i = 0; typing; i++) await each.write(`w${index}.${i} `)
    })
    try {
      // The operator puts the new key first in every node's file, then reloads one node.
      files.a = [k2, k1]
      files.b = [k2, k1]
      await nodeA.adoptMasterKeys(files.a)
      assert.equal(await nodeA.masterKeyWrappedUnder([k2, k1]), Keyring.fingerprint(k2))
      // Node B (not reloaded) makes a new tenant's first key: its save must keep the new wrapping.
      await writer(nodeB, 'globex/proposal/m-g').write('new tenant ')
      assert.equal(await nodeB.masterKeyWrappedUnder([k2, k1]), Keyring.fingerprint(k2))
    } finally {
      typing = false
      await Promise.all(typists)
    }
    // A wrong key (nothing else writing meanwhile, so the row must be exactly as it was).
    const before = await readRow()
    await assert.rejects(nodeA.adoptMasterKeys([k3]), expectCode(ErrorCode.WrongMasterKey))
    await assert.rejects(nodeA.adoptMasterKeys([k3, randomBytes(32)]), expectCode(ErrorCode.WrongMasterKey))
    assert.deepEqual(await readRow(), before, 'a wrong key writes nothing')
    await writers[0]!.write('still ')
    await writer(nodeA, 'initech/proposal/m-i').write('first key after the refusal ')
    assert.equal(await nodeA.masterKeyWrappedUnder([k2]), Keyring.fingerprint(k2), 'node A saves under the key it had')
  } finally {
    await nodeA.close()
    await nodeB.close()
  }
  await assert.rejects(PostgresStorage.open(url, { atRest: { masterKey: k1 } }), expectCode(ErrorCode.WrongMasterKey))
  const reopened = await PostgresStorage.open(url, { atRest: { masterKey: k2 } })
  try {
    assert.equal((await reopened.loadDoc(`${TENANT}/proposal/m-a`)).doc.getText('title').toString(), writers[0]!.typed.join(''))
    assert.equal((await reopened.loadDoc(`${TENANT}/proposal/m-b`)).doc.getText('title').toString(), writers[1]!.typed.join(''))
    assert.equal((await reopened.loadDoc('globex/proposal/m-g')).doc.getText('title').toString(), 'new tenant ')
    assert.equal((await reopened.loadDoc('initech/proposal/m-i')).doc.getText('title').toString(), 'first key after the refusal ')
  } finally {
    await reopened.close()
  }
})
