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
  /** The title in lower case, kept once: searched and sorted at every request. */
  readonly folded: string
}

/**
 * The summaries of every document, by tenant, in memory: a list request filters, sorts and pages
 * one tenant's entries without any I/O. About one Summary and its lower-cased title per document
 * (see README's Performance section for the measured bytes per document).
 *
 * Paging is by keyset, not offset: a cursor names the last document shown (its sort key and its
 * name, which breaks ties), and the next page starts after it in the same order. A document
 * added, changed or archived meanwhile can therefore neither repeat a document already shown nor
 * skip one that did not change.
 */
export class SummaryIndex {
  private readonly tenants = new Map<string, Map<string, Entry>>()

  get(tenant: string, name: string): Summary | undefined {
    return this.tenants.get(tenant)?.get(name)?.summary
  }

  put(tenant: string, summary: Summary): void {
    let entries = this.tenants.get(tenant)
    if (!entries) this.tenants.set(tenant, (entries = new Map()))
    entries.set(summary.name, { summary, folded: summary.title.toLowerCase() })
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
    const matching: Array<{ entry: Entry; key: string | number }> = []
    for (const entry of entries.values()) {
      const { summary } = entry
      if ((summary.archived !== null) !== query.archived) continue
      if (query.type !== null && summary.type !== query.type) continue
      if (query.status !== null && summary.status !== query.status) continue
      if (query.owner !== null && summary.owner !== query.owner) continue
      if (query.mine !== null && summary.owner !== query.mine && !summary.team.includes(query.mine)) continue
      if (words.length > 0) {
        const haystack = `${entry.folded} ${summary.name.toLowerCase()} ${(customerName(summary) ?? '').toLowerCase()}`
        if (!words.every((word) => haystack.includes(word))) continue
      }
      matching.push({ entry, key: sortKey(entry, query.sort) })
    }
    const direction = query.order === 'asc' ? 1 : -1
    const compare = (a: { key: string | number; name: string }, b: { key: string | number; name: string }): number =>
      direction * (a.key < b.key ? -1 : a.key > b.key ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
    const keyed = matching.map(({ entry, key }) => ({ key, name: entry.summary.name, entry }))
    keyed.sort(compare)
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
