import { EVENTS_NAMESPACE } from './eventLog.ts'
import type { LevelBatchDb } from './levelBatchDb.ts'
import type { LogOp } from './writeAheadLog.ts'

/**
 * Which documents the LevelDB store holds any record of: content, state vector, event log or its
 * base, client-id owners, conflicts or pending reviews. A room joining a document the store has
 * never written answers from this set instead of reading four key ranges that are empty: in a
 * storm of new documents those reads were most of the server's work per connection.
 *
 * The set is kept as one marker key per document (`['posalpro_docs', storageName]`), written in
 * the same atomic batch as the document's first record, so it can never lag what is stored; it is
 * read once at open (keys only). A store written before the markers existed, or by an older
 * version after them (a downgrade writes documents without markers), is indexed again from the
 * record keys themselves: the markers are a cache of what the keys say, never the other way round.
 *
 * Wrongly "unknown" would be harmful (a load would start an existing document's event numbering
 * again), wrongly "known" only costs the reads: a name is added before its write reaches LevelDB,
 * and never removed while the process runs.
 */
const MARKER_NAMESPACE = 'posalpro_docs'
const markerKey = (storageName: string) => [MARKER_NAMESPACE, storageName]
/** Present once every document of the store has its marker. */
const INDEXED_FLAG = ['posalpro_meta', 'documents-indexed', 1]

/** The key families that belong to one document, and where its storage name is in their keys. */
interface KeyFamily {
  readonly namespace: string
  readonly nameOf: (key: Array<string | number>) => string
}
/** A document's content (y-leveldb's keys): what other writers may have stored too. */
const CONTENT_FAMILIES: readonly KeyFamily[] = [
  { namespace: 'v1', nameOf: (key) => String(key[1]) },
  { namespace: 'v1_sv', nameOf: (key) => String(key[1]) },
]
const DOCUMENT_FAMILIES: readonly KeyFamily[] = [
  ...CONTENT_FAMILIES,
  { namespace: EVENTS_NAMESPACE, nameOf: (key) => String(key[1]) },
  { namespace: 'posalpro_events_base', nameOf: (key) => String(key[1]) },
  { namespace: 'posalpro_conflicts', nameOf: (key) => String(key[1]) },
  { namespace: 'posalpro_client_owners', nameOf: (key) => String(key[1]) },
  { namespace: 'posalpro_pending_reviews', nameOf: (key) => `${key[1]}/${key[2]}` },
]

/** Every key of a namespace (the key encoding orders numbers after strings). */
const namespaceRange = (namespace: string) => ({ gt: [namespace], lt: [namespace, 0xffffffff] })

/** Calls `found` with the storage name of every key of a family, reading a page of keys at a time (never all at once). */
const scanNames = async (db: LevelBatchDb, { namespace, nameOf }: KeyFamily, found: (name: string) => void): Promise<void> => {
  const { lt } = namespaceRange(namespace)
  let after: Array<string | number> = [namespace]
  for (;;) {
    const page = await db.keys({ gt: after, lt, limit: INDEX_BATCH }).all()
    for (const key of page) found(nameOf(key))
    if (page.length < INDEX_BATCH) return
    after = page.at(-1)!
  }
}

/** Keys read, and markers written, per step while indexing: bounded memory for a store of any size. */
const INDEX_BATCH = 1000

const PENDING_REVIEWS = DOCUMENT_FAMILIES.find((family) => family.namespace === 'posalpro_pending_reviews')!

export class KnownDocuments {
  /** Documents with entries in the pending-review index: rare, so most joins need not read it. */
  private readonly withPendingReviews = new Set<string>()

  private constructor(private readonly names: Set<string>) {}

  /**
   * The set of the store behind `db` (opened, its write-ahead log replayed). Indexes the record
   * keys when the store has no complete set of markers; `onIndexed` reports how many documents
   * that found.
   */
  static async load(db: LevelBatchDb, onIndexed: (documents: number) => void): Promise<KnownDocuments> {
    const known = await KnownDocuments.loadNames(db, onIndexed)
    await scanNames(db, PENDING_REVIEWS, (name) => known.withPendingReviews.add(name))
    return known
  }

  private static async loadNames(db: LevelBatchDb, onIndexed: (documents: number) => void): Promise<KnownDocuments> {
    const [flag] = await db.keys({ gte: INDEXED_FLAG, lte: INDEXED_FLAG }).all()
    if (flag) {
      const names = new Set((await db.keys(namespaceRange(MARKER_NAMESPACE)).all()).map((key) => String(key[1])))
      // Content written without a marker means a writer that does not keep them wrote here (an
      // older version after a downgrade, y-leveldb itself): the markers are incomplete. Checked on
      // the content keys only (keys, no values: milliseconds per ten thousand); every other record
      // kind is ours alone.
      let complete = true
      for (const family of CONTENT_FAMILIES) {
        await scanNames(db, family, (name) => {
          if (!names.has(name)) complete = false
        })
      }
      if (complete) return new KnownDocuments(names)
    }
    const names = new Set<string>()
    for (const family of DOCUMENT_FAMILIES) await scanNames(db, family, (name) => names.add(name))
    const markers = [...names].map((name): LogOp => ({ type: 'put', key: markerKey(name), value: Buffer.alloc(0) }))
    for (let start = 0; start < markers.length; start += INDEX_BATCH) await db.batch(markers.slice(start, start + INDEX_BATCH))
    await db.batch([{ type: 'put', key: INDEXED_FLAG, value: Buffer.from('1') }])
    onIndexed(names.size)
    return new KnownDocuments(names)
  }

  /** Might the store hold a record of the document? False only when it certainly holds none. */
  has(storageName: string): boolean {
    return this.names.has(storageName)
  }

  /** Might the document have pending review items? False only when it certainly has none. */
  mayHavePendingReviews(storageName: string): boolean {
    return this.withPendingReviews.has(storageName)
  }

  /** Notes the pending-review index entries among operations about to be written (before they are). */
  noteWrites(ops: readonly LogOp[]): void {
    for (const op of ops) if (op.type === 'put' && op.key[0] === PENDING_REVIEWS.namespace) this.withPendingReviews.add(PENDING_REVIEWS.nameOf(op.key))
  }

  /**
   * The marker to write with a batch of the document's records: none when it has one. The name
   * counts as known from now on (its batch is on its way; reads after it see the batch).
   */
  markerFor(storageName: string): LogOp[] {
    if (this.names.has(storageName)) return []
    this.names.add(storageName)
    return [{ type: 'put', key: markerKey(storageName), value: Buffer.alloc(0) }]
  }
}
