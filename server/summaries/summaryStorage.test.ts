import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import pg from 'pg'
import { startPostgres } from '../../shared/testing/postgresInstance.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { filesContaining } from '../testing/atRestFiles.ts'
import { DocumentStore } from '../persistence/documentStore.ts'
import { PostgresStorage } from '../persistence/postgres/postgresStorage.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import type { Summary } from './summary.ts'
import { summaryStorageFor } from './summaryStorage.ts'

/** What a store holds where a test can look at it: the files (LevelDB) or the summary column's text (PostgreSQL). */
interface Backend {
  readonly store: DocumentStorage
  /** Does anything at rest hold `marker` in plain text (read with the store closed for LevelDB)? */
  holdsInPlain(marker: string): Promise<boolean>
  close(): Promise<void>
}

const BACKENDS: Array<{ name: string; sealed: boolean; open(): Promise<Backend> }> = [false, true].flatMap((sealed) => [
  {
    name: `LevelDB${sealed ? ', encrypted at rest' : ''}`,
    sealed,
    async open(): Promise<Backend> {
      const dir = await tempDir('posalpro-summaries-')
      const store = await DocumentStore.open(dir.path, sealed ? { atRest: { masterKey: randomBytes(32) } } : {})
      let closed = false
      return {
        store,
        async holdsInPlain(marker) {
          await store.close()
          closed = true
          return filesContaining(dir.path, marker).length > 0
        },
        async close() {
          if (!closed) await store.close()
          await dir.remove()
        },
      }
    },
  },
  {
    name: `PostgreSQL${sealed ? ', encrypted at rest' : ''}`,
    sealed,
    async open(): Promise<Backend> {
      const postgres = await startPostgres()
      const store = await PostgresStorage.open(postgres.url, sealed ? { atRest: { masterKey: randomBytes(32) } } : {})
      return {
        store,
        async holdsInPlain(marker) {
          const client = new pg.Client({ connectionString: postgres.url })
          await client.connect()
          try {
            const { rows } = await client.query<{ text: string }>('SELECT summary::text AS text FROM document_summaries')
            return rows.some((row) => row.text.includes(marker))
          } finally {
            await client.end()
          }
        },
        async close() {
          await store.close()
          await postgres.stop()
        },
      }
    },
  },
])

const summary = (name: string, title: string, seq = 1): Summary => ({
  name,
  type: 'proposal',
  title,
  status: 'draft',
  owner: 'bob',
  customerId: null,
  value: 10,
  currency: 'EUR',
  team: ['bob'],
  lastChange: { at: 1, userId: 'bob' },
  archived: null,
  seq,
})

/** One contract for the summaries' storage, on every store the server runs on. */
for (const backend of BACKENDS) {
  describe(`summary storage on ${backend.name}`, () => {
    test('stores, replaces and reads back every tenant’s summaries; sealed at rest when encryption is on', async () => {
      const opened = await backend.open()
      try {
        const summaries = summaryStorageFor(opened.store)
        assert.deepEqual(await summaries.readAll(), [])
        await summaries.write([
          { tenant: 'acme', summary: summary('proposal/p-1', 'Marker-alpha-tender') },
          { tenant: 'acme', summary: summary('proposal/p-2', 'Second') },
          { tenant: 'globex', summary: summary('proposal/p-1', 'Globex one') },
        ])
        await summaries.write([{ tenant: 'acme', summary: summary('proposal/p-2', 'Second, renamed', 7) }])
        const read = (await summaries.readAll()).map(({ tenant, summary: { name, title, seq } }) => `${tenant} ${name} ${title} ${seq}`).sort()
        assert.deepEqual(read, ['acme proposal/p-1 Marker-alpha-tender 1', 'acme proposal/p-2 Second, renamed 7', 'globex proposal/p-1 Globex one 1'])
        assert.equal(await opened.holdsInPlain('Marker-alpha-tender'), !backend.sealed)
      } finally {
        await opened.close()
      }
    })
  })
}
