import type { DocumentType } from '../../shared/documentName.ts'
import type { Summary } from './summary.ts'

export const LIST_SORTS = ['title', 'lastChange', 'value'] as const
export type ListSort = (typeof LIST_SORTS)[number]

/** Where a page ended: the last listed document's sort key and name (the tie-break). */
export interface ListCursor {
  readonly key: string | number
  readonly name: string
}

export interface ListQuery {
  /** Words every listed document's title, name or customer's name contains (any case). */
  readonly q: string
  readonly type: DocumentType | null
  readonly status: string | null
  readonly owner: string | null
  /** A user id: only documents they own or are on the team of. */
  readonly mine: string | null
  /** Only archived documents (true) or only the others (false). */
  readonly archived: boolean
  readonly sort: ListSort
  readonly order: 'asc' | 'desc'
  readonly cursor: ListCursor | null
  readonly limit: number
}

export interface ListedSummary extends Summary {
  /** The proposal's customer's name, from that customer's summary (null: no such customer). */
  readonly customerName: string | null
}

export interface ListPage {
  readonly documents: ListedSummary[]
  /** Matching documents in all pages. */
  readonly total: number
  /** Pass it back for the next page; null after the last. */
  readonly next: ListCursor | null
}

interface Entry {
  readonly summary: Summary
  /** The title in lower case, kept once: sorted at every request. */
  readonly folded: string
  /** The title and name in lower case: what a search looks in (besides the customer's name). */
  readonly searched: string
}

interface Keyed {
  readonly key: string | number
  readonly name: string
  readonly entry: Entry
}

/**
 * The summaries of every document, by tenant, in memory: a list request filters and pages one
 * tenant's entries, kept sorted, without any I/O. Per document: its Summary, its lower-cased title
 * and search text, and an entry in each sorted list asked for (README's *Document list and
 * operations view* gives the measured bytes).
 *
 * Paging is by keyset, not offset: a cursor names the last document shown (its sort key and its
 * name, which breaks ties), and the next page starts after it in the same order. A document
 * added, changed or archived meanwhile can therefore neither repeat a document already shown nor
 * skip one that did not change.
 */
export class SummaryIndex {
  private readonly tenants = new Map<string, Map<string, Entry>>()
  /** Per tenant: bumped at every change, so a sorted list kept for it is known stale. */
  private readonly versions = new Map<string, number>()
  /**
   * Each tenant's documents sorted for each archived flag, sort and order, as of `versions`: a
   * request filters the sorted list and pages it by binary search, and sorts only after a change
   * (at most 12 lists of a small object per document per tenant).
   */
  private readonly sorted = new Map<string, { version: number; keyed: Keyed[] }>()

  get(tenant: string, name: string): Summary | undefined {
    return this.tenants.get(tenant)?.get(name)?.summary
  }

  put(tenant: string, summary: Summary): void {
    let entries = this.tenants.get(tenant)
    if (!entries) this.tenants.set(tenant, (entries = new Map()))
    const folded = summary.title.toLowerCase()
    entries.set(summary.name, { summary, folded, searched: `${folded} ${summary.name.toLowerCase()}` })
    this.versions.set(tenant, (this.versions.get(tenant) ?? 0) + 1)
  }

  /** Documents of every tenant that are summarized. */
  get size(): number {
    let size = 0
    for (const entries of this.tenants.values()) size += entries.size
    return size
  }

  query(tenant: string, query: ListQuery): ListPage {
    const entries = this.tenants.get(tenant)
    if (!entries) return { documents: [], total: 0, next: null }
    const words = query.q.toLowerCase().split(/\s+/).filter(Boolean)
    const customerName = (summary: Summary): string | null =>
      summary.customerId === null ? null : (entries.get(`customer/${summary.customerId}`)?.summary.title ?? null)
    const direction = query.order === 'asc' ? 1 : -1
    const compare = (a: { key: string | number; name: string }, b: { key: string | number; name: string }): number =>
      direction * (a.key < b.key ? -1 : a.key > b.key ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
    const unfiltered = words.length === 0 && query.type === null && query.status === null && query.owner === null && query.mine === null
    const sorted = this.sortedAll(tenant, entries, query, compare)
    if (unfiltered) return this.page(sorted, query, compare, customerName)
    // Customers' names in lower case, made once per search (not once per proposal).
    const customersFolded = new Map<string, string>()
    if (words.length > 0) for (const entry of entries.values()) if (entry.summary.type === 'customer') customersFolded.set(entry.summary.name.slice('customer/'.length), entry.folded)
    // Filtered in sorted order: no sort per request.
    const keyed: Keyed[] = []
    for (const item of sorted) {
      const { summary } = item.entry
      if (query.type !== null && summary.type !== query.type) continue
      if (query.status !== null && summary.status !== query.status) continue
      if (query.owner !== null && summary.owner !== query.owner) continue
      if (query.mine !== null && summary.owner !== query.mine && !summary.team.includes(query.mine)) continue
      if (words.length > 0 && !matchesWords(item.entry, words, customersFolded)) continue
      keyed.push(item)
    }
    return this.page(keyed, query, compare, customerName)
  }

  /**
   * A tenant's archived (or other) documents in the query's sort and order: sorted once per change
   * of the tenant's summaries, then every request filters and pages it.
   */
  private sortedAll(tenant: string, entries: ReadonlyMap<string, Entry>, query: ListQuery, compare: (a: Keyed, b: Keyed) => number): Keyed[] {
    const cacheKey = `${tenant}\u0000${query.archived}\u0000${query.sort}\u0000${query.order}`
    const version = this.versions.get(tenant) ?? 0
    const cached = this.sorted.get(cacheKey)
    if (cached?.version === version) return cached.keyed
    const keyed: Keyed[] = []
    for (const entry of entries.values()) {
      if ((entry.summary.archived !== null) === query.archived) keyed.push({ key: sortKey(entry, query.sort), name: entry.summary.name, entry })
    }
    keyed.sort(compare)
    this.sorted.set(cacheKey, { version, keyed })
    return keyed
  }

  /** The page of a sorted list after the query's cursor. */
  private page(
    keyed: readonly Keyed[],
    query: ListQuery,
    compare: (a: { key: string | number; name: string }, b: { key: string | number; name: string }) => number,
    customerName: (summary: Summary) => string | null,
  ): ListPage {
    const cursor = query.cursor
    let start = 0
    if (cursor) {
      // The first entry after the cursor in this order (binary search: the list is sorted by it).
      let low = 0
      let high = keyed.length
      while (low < high) {
        const middle = (low + high) >>> 1
        if (compare(keyed[middle]!, cursor) <= 0) low = middle + 1
        else high = middle
      }
      start = low
    }
    const page = keyed.slice(start, start + query.limit)
    const last = page.at(-1)
    return {
      documents: page.map(({ entry }) => ({ ...entry.summary, customerName: customerName(entry.summary) })),
      total: keyed.length,
      next: last && start + page.length < keyed.length ? { key: last.key, name: last.name } : null,
    }
  }
}

/** Does every word occur in the document's title or name, or in its customer's name? */
const matchesWords = (entry: Entry, words: readonly string[], customersFolded: ReadonlyMap<string, string>): boolean => {
  const customerId = entry.summary.customerId
  for (const word of words) {
    if (entry.searched.includes(word)) continue
    if (customerId !== null && customersFolded.get(customerId)?.includes(word)) continue
    return false
  }
  return true
}

/**
 * What a sort orders by: the lower-cased title; the last change's time (never changed: 0); the
 * value (none: -1, so documents without one come first ascending and last descending).
 */
const sortKey = (entry: Entry, sort: ListSort): string | number => {
  switch (sort) {
    case 'title':
      return entry.folded
    case 'lastChange':
      return entry.summary.lastChange?.at ?? 0
    case 'value':
      return entry.summary.value ?? -1
  }
}
