import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import pg from 'pg'
import { startPostgres } from '../../shared/testing/postgresInstance.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { DocumentStore } from '../persistence/documentStore.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import { PostgresStorage } from '../persistence/postgres/postgresStorage.ts'
import { filesContaining } from '../testing/atRestFiles.ts'
import type { AuditLog } from './auditLog.ts'
import { auditRecord, UNKNOWN_TENANT, type AuditRecord } from './auditRecord.ts'
import { auditLogFor } from './auditStorage.ts'

/**
 * One contract, both stores: what the access audit relies on from its log (auditLog.ts), through
 * the same function the server uses to pick it (auditLogFor), plain and encrypted at rest.
 */
interface Backend {
  readonly store: DocumentStorage
  /** Where the store's files are (the marker must not be in any of them when encrypted). */
  readonly directory: string
  /** Makes everything written reach the files (PostgreSQL: a checkpoint). */
  settle(): Promise<void>
  reopen(): Promise<DocumentStorage>
  close(): Promise<void>
}

const levelDb = (encrypted: boolean) => async (): Promise<Backend> => {
  const dir = await tempDir('posalpro-audit-')
  const atRest = { masterKey: encrypted ? randomBytes(32) : null }
  let store: DocumentStorage = await DocumentStore.open(dir.path, { atRest })
  return {
    get store() {
      return store
    },
    directory: dir.path,
    settle: async () => {
      await store.close()
      store = await DocumentStore.open(dir.path, { atRest })
    },
    reopen: async () => {
      await store.close()
      store = await DocumentStore.open(dir.path, { atRest })
      return store
    },
    close: async () => {
      await store.close()
      await dir.remove()
    },
  }
}

const postgres = (encrypted: boolean) => async (): Promise<Backend> => {
  const instance = await startPostgres()
  const atRest = { masterKey: encrypted ? randomBytes(32) : null }
  let store: DocumentStorage = await PostgresStorage.open(instance.url, { atRest })
  return {
    get store() {
      return store
    },
    directory: instance.directory,
    settle: async () => {
      const pool = new pg.Pool({ connectionString: instance.url })
      await pool.query('CHECKPOINT')
      await pool.end()
    },
    reopen: async () => {
      await store.close()
      store = await PostgresStorage.open(instance.url, { atRest })
      return store
    },
    close: async () => {
      await store.close()
      await instance.stop()
    },
  }
}

const BACKENDS = [
  { name: 'LevelDB', open: levelDb(false), encrypted: false },
  { name: 'LevelDB, encrypted at rest', open: levelDb(true), encrypted: true },
  { name: 'PostgreSQL', open: postgres(false), encrypted: false },
  { name: 'PostgreSQL, encrypted at rest', open: postgres(true), encrypted: true },
]

const DAY = 24 * 3600 * 1000
const T0 = Date.parse('2026-03-10T12:00:00.000Z')

const open = (tenant: string, userId: string | null, at: number, document = 'proposal/p-1', outcome: AuditRecord['outcome'] = 'admitted'): AuditRecord =>
  auditRecord({ tenant, userId, role: userId ? 'editor' : null, device: null, address: '10.0.0.7', document, action: 'open', route: null, command: null, outcome, code: outcome === 'refused' ? 'ERR_TOKEN_EXPIRED' : null, at })

const everything = { from: 0, to: Number.MAX_SAFE_INTEGER, limit: 1_000 }

for (const backend of BACKENDS) {
  describe(`access audit log on ${backend.name}`, () => {
    test('records come back per tenant, oldest first, exactly as written, after a reopen', async () => {
      const b = await backend.open()
      try {
        // The last one sums up cut sockets: its count comes back with it.
        const summed = auditRecord({ tenant: UNKNOWN_TENANT, userId: null, role: null, device: null, address: '10.0.0.9', document: null, action: 'socket', route: null, command: null, outcome: 'refused', code: 'ERR_REQUEST_TIMEOUT', count: 42, at: T0 + 3 })
        const records = [open('acme', 'alice', T0 + 5), open('acme', 'bob', T0), open('globex', 'mallory', T0 + 1), open(UNKNOWN_TENANT, null, T0 + 2, 'no/such/thing', 'refused'), summed]
        await auditLogFor(b.store).append(records)
        const log: AuditLog = auditLogFor(await b.reopen())
        assert.deepEqual(await log.read('acme', everything), [records[1], records[0]])
        assert.deepEqual(await log.read('globex', everything), [records[2]])
        assert.deepEqual(await log.read(UNKNOWN_TENANT, everything), [records[3], summed])
        assert.deepEqual(await log.read('initech', everything), [])
        assert.deepEqual(await log.tenants(), [UNKNOWN_TENANT, 'acme', 'globex'])
      } finally {
        await b.close()
      }
    })

    test('a range read holds the records with from <= at <= to, across days; limit + 1 at most', async () => {
      const b = await backend.open()
      try {
        const log = auditLogFor(b.store)
        const days = Array.from({ length: 5 }, (_, index) => open('acme', `u${index}`, T0 + index * DAY))
        await log.append(days)
        assert.deepEqual(
          (await log.read('acme', { from: T0 + DAY, to: T0 + 3 * DAY, limit: 100 })).map((record) => record.userId),
          ['u1', 'u2', 'u3'],
        )
        assert.deepEqual((await log.read('acme', { from: T0 + DAY + 1, to: T0 + 3 * DAY - 1, limit: 100 })).map((record) => record.userId), ['u2'])
        assert.equal((await log.read('acme', { ...everything, limit: 2 })).length, 3)
      } finally {
        await b.close()
      }
    })

    test('retention deletes every tenant\'s records older than the cutoff, and only those', async () => {
      const b = await backend.open()
      try {
        const log = auditLogFor(b.store)
        const old = [open('acme', 'old', T0 - 40 * DAY), open('globex', 'old', T0 - 2 * DAY), open(UNKNOWN_TENANT, null, T0 - 1, 'proposal/x', 'refused')]
        const kept = [open('acme', 'new', T0), open('globex', 'new', T0 + 1)]
        await log.append([...old, ...kept])
        assert.equal(await log.prune(T0), 3)
        assert.deepEqual(await log.read('acme', everything), [kept[0]])
        assert.deepEqual(await log.read('globex', everything), [kept[1]])
        assert.deepEqual(await log.read(UNKNOWN_TENANT, everything), [])
        assert.equal(await log.prune(T0), 0)
      } finally {
        await b.close()
      }
    })

    if (backend.encrypted) {
      test('sealed at rest: no file holds a user id, an address or a document name', async () => {
        const b = await backend.open()
        try {
          const marker = `auditmarker${randomBytes(6).toString('hex')}`
          await auditLogFor(b.store).append([
            auditRecord({ tenant: 'acme', userId: marker, role: 'editor', device: null, address: `${marker}-address`, document: `proposal/${marker}`, action: 'open', route: null, command: null, outcome: 'admitted', code: null }),
          ])
          await b.settle()
          assert.deepEqual(filesContaining(b.directory, marker), [])
          assert.equal((await auditLogFor(b.store).read('acme', everything))[0]?.userId, marker)
        } finally {
          await b.close()
        }
      })
    }
  })
}
