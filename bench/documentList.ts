/**
 * `npm run bench:list`: the document list at 10,000 documents. Seeds the documents straight into a
 * LevelDB store (proposals with title, status, owner, customer and value; customers; content),
 * starts a server on it and measures:
 *
 * - how long the first start takes to summarize all of them in the background (none stored yet),
 *   and that the next start lists them at once (summaries read from the store);
 * - `GET /api/documents` p50/p95 over HTTP for the default page, a search, filters and sorts;
 * - the in-memory index's heap per document (with --expose-gc: the index built again from the
 *   stored summaries, heap measured before and after).
 *
 * A report, not a test: nothing here fails on a number.
 */
import * as Y from 'yjs'
import { DocumentStore } from '../server/persistence/documentStore.ts'
import { startServer, type TestServer } from '../server/testing/startServer.ts'
import { summaryStorageFor } from '../server/summaries/summaryStorage.ts'
import { SummaryIndex } from '../server/summaries/summaryIndex.ts'
import { tempDir } from '../shared/testing/tempDir.ts'
import { distribution, round, seededRandom, randomInt } from './statistics.ts'

const DOCUMENTS = Number(process.env.BENCH_LIST_DOCUMENTS ?? 10_000)
const REQUESTS = Number(process.env.BENCH_LIST_REQUESTS ?? 200)
const SEED = Number(process.env.BENCH_SEED ?? 7)
const STATUSES = ['draft', 'in_review', 'approved', 'submitted', 'won', 'lost']
const WORDS = ['alpha', 'bravo', 'delta', 'harbor', 'summit', 'orbit', 'cedar', 'falcon', 'maple', 'quartz', 'river', 'zenith']

const random = seededRandom(SEED)
const pick = <T>(items: readonly T[]): T => items[randomInt(random, items.length)]!

const seed = async (dataDir: string): Promise<void> => {
  const store = await DocumentStore.open(dataDir)
  const customers = Math.max(1, Math.floor(DOCUMENTS / 10))
  const contents = Math.floor(DOCUMENTS / 10)
  let written = 0
  const write = async (name: string, fill: (doc: Y.Doc) => void) => {
    const doc = new Y.Doc()
    fill(doc)
    const update = Y.encodeStateAsUpdate(doc)
    doc.destroy()
    const at = Date.now() - randomInt(random, 90 * 24 * 3600 * 1000)
    await store.appendBatch(`acme/${name}`, {
      update,
      events: [{ seq: 1, at, userId: `user-${randomInt(random, 50)}`, device: null, outcome: 'accepted', ruleIds: [], paths: [], update, applied: true }],
    })
    written++
  }
  const jobs: Array<() => Promise<void>> = []
  for (let index = 0; index < customers; index++) jobs.push(() => write(`customer/c-${index}`, (doc) => doc.getText('name').insert(0, `${pick(WORDS)} ${pick(WORDS)} Ltd ${index}`)))
  for (let index = 0; index < contents; index++) jobs.push(() => write(`content/t-${index}`, (doc) => doc.getText('title').insert(0, `${pick(WORDS)} terms ${index}`)))
  for (let index = customers + contents; index < DOCUMENTS; index++) {
    jobs.push(() =>
      write(`proposal/p-${index}`, (doc) => {
        doc.getText('title').insert(0, `${pick(WORDS)} ${pick(WORDS)} tender ${index}`)
        const meta = doc.getMap('meta')
        meta.set('status', pick(STATUSES))
        meta.set('ownerId', `user-${randomInt(random, 50)}`)
        meta.set('customerId', `c-${randomInt(random, customers)}`)
        meta.set('currency', 'EUR')
        doc.getMap('financial').set('value', randomInt(random, 1_000_000))
        doc.getMap('team').set(`user-${randomInt(random, 50)}`, 'editor')
      }),
    )
  }
  // A few at a time: the store's write-ahead log takes them in order.
  let next = 0
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < jobs.length) await jobs[next++]!()
  }))
  await store.close()
  console.log(`seeded ${written} documents`)
}

const listTotal = async (server: TestServer, token: string): Promise<number> => {
  const response = await fetch(`${server.httpUrl}/api/documents?limit=1`, { headers: { authorization: `Bearer ${token}` } })
  return ((await response.json()) as { total: number }).total
}

const measure = async (server: TestServer, token: string, label: string, query: () => string) => {
  const times: number[] = []
  let total = 0
  for (let index = 0; index < REQUESTS; index++) {
    const started = performance.now()
    const response = await fetch(`${server.httpUrl}/api/documents${query()}`, { headers: { authorization: `Bearer ${token}` } })
    const body = (await response.json()) as { total: number }
    times.push(performance.now() - started)
    if (!response.ok) throw new Error(`${label}: ${response.status}`)
    total = body.total
  }
  const { p50, p95 } = distribution(times.sort((a, b) => a - b))
  console.log(`${label.padEnd(44)} p50 ${round(p50).toFixed(2).padStart(6)} ms  p95 ${round(p95).toFixed(2).padStart(6)} ms  (${total} matching)`)
}

/** The index alone, in process (no HTTP, no JSON): what a request costs the server's CPU. */
const measureIndex = (index: SummaryIndex) => {
  const base = { q: '', type: null, status: null, owner: null, mine: null, archived: false, sort: 'title', order: 'asc', cursor: null, limit: 50 } as const
  const cases: Array<[string, () => Parameters<SummaryIndex['query']>[1]]> = [
    ['index: default page', () => base],
    ['index: search one word', () => ({ ...base, q: pick(WORDS) })],
    ['index: type + status', () => ({ ...base, type: 'proposal', status: pick(STATUSES) })],
    ['index: owner, by value', () => ({ ...base, owner: `user-${randomInt(random, 50)}`, sort: 'value', order: 'desc' })],
  ]
  for (const [label, query] of cases) {
    const times: number[] = []
    for (let index_ = 0; index_ < REQUESTS; index_++) {
      const started = performance.now()
      index.query('acme', query())
      times.push(performance.now() - started)
    }
    const { p50, p95 } = distribution(times.sort((a, b) => a - b))
    console.log(`${label.padEnd(44)} p50 ${round(p50, 3).toFixed(3).padStart(7)} ms  p95 ${round(p95, 3).toFixed(3).padStart(7)} ms`)
  }
}

const main = async () => {
  const dir = await tempDir('posalpro-bench-list-')
  try {
    await seed(dir.path)
    let started = performance.now()
    let server = await startServer({ dataDir: dir.path })
    const token = await server.token({ role: 'viewer' })
    while ((await listTotal(server, token)) < DOCUMENTS) await new Promise((resolve) => setTimeout(resolve, 100))
    console.log(`first start: all ${DOCUMENTS} summarized in the background after ${round((performance.now() - started) / 1000, 1)} s`)
    server = await server.restart()
    started = performance.now()
    const listed = await listTotal(server, token)
    console.log(`next start: ${listed} listed at the first request, ${round(performance.now() - started, 1)} ms after listening`)

    await measure(server, token, 'default page (title, 50)', () => '')
    await measure(server, token, 'last change, newest first (50)', () => '?sort=lastChange')
    await measure(server, token, 'value, 200 per page', () => '?sort=value&limit=200')
    await measure(server, token, 'search one word', () => `?q=${pick(WORDS)}`)
    await measure(server, token, 'search two words', () => `?q=${pick(WORDS)}+${pick(WORDS)}`)
    await measure(server, token, 'type=proposal&status=…', () => `?type=proposal&status=${pick(STATUSES)}`)
    await measure(server, token, 'owner=…, by value', () => `?owner=user-${randomInt(random, 50)}&sort=value`)
    await measure(server, token, 'mine=1', () => '?mine=1')
    // The page after a cursor: the second page of the default sort.
    const first = (await (await fetch(`${server.httpUrl}/api/documents`, { headers: { authorization: `Bearer ${token}` } })).json()) as { nextCursor: string }
    await measure(server, token, 'second page (cursor)', () => `?cursor=${first.nextCursor}`)
    await server.stop()

    const gc = (globalThis as { gc?: () => void }).gc
    if (gc) {
      const store = await DocumentStore.open(dir.path)
      gc()
      const before = process.memoryUsage().heapUsed
      let stored: Awaited<ReturnType<ReturnType<typeof summaryStorageFor>['readAll']>> | null = await summaryStorageFor(store).readAll()
      const index = new SummaryIndex()
      for (const { tenant, summary } of stored) index.put(tenant, summary)
      const json = Math.round(JSON.stringify(stored).length / stored.length)
      stored = null
      // The sorted lists of the default list, the sort by last change and by value.
      for (const sort of ['title', 'lastChange', 'value'] as const) index.query('acme', { q: '', type: null, status: null, owner: null, mine: null, archived: false, sort, order: 'asc', cursor: null, limit: 1 })
      gc()
      const after = process.memoryUsage().heapUsed
      await store.close()
      console.log(`index: ${index.size} documents, ~${Math.round((after - before) / index.size)} B of heap per document (summary, search text, three sorted lists; ~${json} B of JSON per summary)`)
      measureIndex(index)
    } else {
      console.log('index memory: run with --expose-gc (npm run bench:list does)')
    }
  } finally {
    await dir.remove()
  }
}

await main()
