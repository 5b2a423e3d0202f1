import type { DocumentType } from '../../shared/documentName.ts'

/**
 * The documents this account knows on this device, with their titles: the list shown offline,
 * and titles for the server's list (which has names only — listing must not load documents).
 */
export interface CatalogEntry {
  readonly type: DocumentType
  readonly id: string
  readonly title: string
}

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

  remember(entry: CatalogEntry): void {
    const others = this.entries().filter((other) => !(other.type === entry.type && other.id === entry.id))
    localStorage.setItem(this.key, JSON.stringify([...others, entry]))
  }
}
