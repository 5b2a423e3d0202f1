import { DocumentStore } from '../persistence/documentStore.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import type { PostgresStorage } from '../persistence/postgres/postgresStorage.ts'
import { parseSummary, type Summary } from './summary.ts'

export interface TenantSummary {
  readonly tenant: string
  readonly summary: Summary
}

/**
 * Where the document summaries are kept, beside the documents in the server's store: LevelDB
 * (a key range of its own, `['posalpro_summaries', tenant, '<type>/<id>']`) or PostgreSQL (the
 * `document_summaries` table). Sealed like every other record when encryption at rest is on (the
 * key is the record's associated data). One contract test runs against both (summaryStorage.test.ts).
 */
export interface SummaryStorage {
  /** Every stored summary of every tenant (read once, at start; a damaged one is skipped and rebuilt). */
  readAll(): Promise<TenantSummary[]>
  /** Stores (replaces by tenant and name) summaries, atomically. */
  write(summaries: readonly TenantSummary[]): Promise<void>
}

export const SUMMARIES_NAMESPACE = 'posalpro_summaries'

/** The summary storage of the server's store. */
export const summaryStorageFor = (store: DocumentStorage): SummaryStorage => {
  if (store instanceof DocumentStore) return levelDbSummaries(store)
  // Not `instanceof`: that would load the PostgreSQL client into every server.
  if ('fenced' in store) return postgresSummaries(store as PostgresStorage)
  throw new Error(`no summary storage for ${store.location}`)
}

/**
 * LevelDB: records of no document, like notifications (written after the writes logged before
 * them; sealed by the store's sealed view). A number element sorts after every string at the
 * same position: the bound of the whole range.
 */
const levelDbSummaries = (store: DocumentStore): SummaryStorage => ({
  async readAll() {
    const entries = await store.readRange('summaries', { gt: [SUMMARIES_NAMESPACE], lt: [SUMMARIES_NAMESPACE, 0xffffffff] })
    return entries.flatMap(([key, value]) => {
      const summary = parseSummary(parseJson(value))
      return summary && typeof key[1] === 'string' ? [{ tenant: key[1], summary }] : []
    })
  },
  write: (summaries) =>
    store.writeDirect(
      'summaries',
      summaries.map(({ tenant, summary }) => ({ type: 'put', key: [SUMMARIES_NAMESPACE, tenant, summary.name], value: Buffer.from(JSON.stringify(summary)) })),
    ),
})

const postgresSummaries = (store: PostgresStorage): SummaryStorage => ({
  async readAll() {
    const rows = await store.fenced.summaries()
    return rows.flatMap(({ tenant, summary }) => {
      const parsed = parseSummary(summary)
      return parsed ? [{ tenant, summary: parsed }] : []
    })
  },
  write: (summaries) => store.fenced.writeSummaries(summaries.map(({ tenant, summary }) => ({ tenant, document: summary.name, summary }))),
})

const parseJson = (value: Uint8Array): unknown => {
  try {
    return JSON.parse(Buffer.from(value).toString('utf8'))
  } catch {
    return null
  }
}
