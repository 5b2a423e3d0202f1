import type { DocumentType } from '../../shared/documentName.ts'

/**
 * The documents this account knows on this device, with their titles: the list shown offline
 * (the server's list carries its own titles), and which of them were opened here last.
 */
export interface CatalogEntry {
  readonly type: DocumentType
  readonly id: string
  readonly title: string
}

/** Recently opened documents the list shows first. */
const RECENT_KEPT = 5

export class LocalCatalog {
  private readonly key: string

  constructor(namespace: string) {
    this.key = `posalpro.catalog.${namespace}`
  }

  entries(): CatalogEntry[] {
    try {
      return JSON.parse(localStorage.getItem(this.key) ?? '[]') as CatalogEntry[]
    } catch {
      return []
    }
  }

  titleOf(type: string, id: string): string {
    return this.entries().find((entry) => entry.type === type && entry.id === id)?.title ?? ''
  }

  /** The documents last opened on this device, most recent first (at most RECENT_KEPT). */
  recent(): Array<{ type: DocumentType; id: string }> {
    try {
      return JSON.parse(localStorage.getItem(`${this.key}.recent`) ?? '[]') as Array<{ type: DocumentType; id: string }>
    } catch {
      return []
    }
  }

  /** The editor opened a document: it goes first among the recent ones. */
  opened(type: DocumentType, id: string): void {
    const others = this.recent().filter((entry) => !(entry.type === type && entry.id === id))
    localStorage.setItem(`${this.key}.recent`, JSON.stringify([{ type, id }, ...others].slice(0, RECENT_KEPT)))
  }

  remember(entry: CatalogEntry): void {
    const others = this.entries().filter((other) => !(other.type === entry.type && other.id === entry.id))
    localStorage.setItem(this.key, JSON.stringify([...others, entry]))
  }
}
