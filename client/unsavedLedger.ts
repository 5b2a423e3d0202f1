import { ObservableV2 } from 'lib0/observable'
import type { DocumentHandle } from './documentHandle.ts'

/**
 * Which documents on this device hold changes the server does not have yet, and how many: what
 * the background sync uploads, what the document list marks, what the header counts, and what
 * signing out warns about. It outlives the page (localStorage in browsers), because the documents
 * themselves do (IndexedDB): without it a document edited offline and never reopened would sit
 * in the local store unnoticed.
 *
 * It is written synchronously on every local change, before the local store's asynchronous write:
 * an entry may name a document whose change never got stored (the upload then finds nothing and
 * clears it), never the other way round.
 */
export interface UnsavedEntry {
  /** Local changes (transactions) not yet durable on the server. */
  readonly changes: number
  /** Set when the server refuses them for good (read-only access): they will not upload. */
  readonly refused?: string
}

/** Where the ledger keeps its one JSON value: localStorage in browsers, a variable in tests. */
export interface LedgerStorage {
  read(): string | null
  write(value: string): void
}

export interface UnsavedLedgerEvents {
  change: () => void
}

/** Bounds what a corrupted or hostile stored value can make the app hold. */
const MAX_ENTRIES = 10_000

export class UnsavedLedger extends ObservableV2<UnsavedLedgerEvents> {
  constructor(private readonly storage: LedgerStorage) {
    super()
  }

  /** document name (`<type>/<id>`) → its entry. */
  entries(): Map<string, UnsavedEntry> {
    const entries = new Map<string, UnsavedEntry>()
    let parsed: unknown
    try {
      parsed = JSON.parse(this.storage.read() ?? '{}')
    } catch {
      return entries
    }
    if (typeof parsed !== 'object' || parsed === null) return entries
    for (const [name, entry] of Object.entries(parsed).slice(0, MAX_ENTRIES)) {
      const changes = (entry as { changes?: unknown })?.changes
      const refused = (entry as { refused?: unknown })?.refused
      if (typeof changes !== 'number' || !(changes > 0)) continue
      entries.set(name, typeof refused === 'string' ? { changes, refused } : { changes })
    }
    return entries
  }

  get(name: string): UnsavedEntry | undefined {
    return this.entries().get(name)
  }

  /** Changes not uploaded, over all documents (refused ones included: they are not on the server either). */
  totalChanges(): number {
    let total = 0
    for (const entry of this.entries().values()) total += entry.changes
    return total
  }

  set(name: string, entry: UnsavedEntry): void {
    const entries = this.entries()
    const old = entries.get(name)
    if (old?.changes === entry.changes && old.refused === entry.refused) return
    entries.set(name, entry)
    this.save(entries)
  }

  clear(name: string): void {
    const entries = this.entries()
    if (!entries.delete(name)) return
    this.save(entries)
  }

  private save(entries: Map<string, UnsavedEntry>): void {
    this.storage.write(JSON.stringify(Object.fromEntries(entries)))
    this.emit('change', [])
  }
}

/**
 * Keeps `ledger` up to date with an open handle's unsaved changes until the returned function is
 * called. The handle counts the state it loaded from the local store as one unsaved change; the
 * ledger already knows how many changes that state holds (none when it had no entry: everything
 * loaded was saved before), so the count is the ledger's plus the changes made since loading.
 */
export const trackUnsaved = (handle: DocumentHandle, ledger: UnsavedLedger): (() => void) => {
  const known = ledger.get(handle.name)
  let before = known?.changes ?? 0
  let refused = known?.refused
  /** The handle's count of unsaved changes right after loading; null until loaded. */
  let loadedCount: number | null = null
  const changes = () => before + Math.max(0, handle.unsavedChanges - (loadedCount ?? 0))
  const update = () => {
    if (loadedCount === null) return
    if (handle.saved) {
      ledger.clear(handle.name)
      before = 0
      loadedCount = 0
      refused = undefined
      return
    }
    const count = changes()
    if (count > 0) ledger.set(handle.name, refused ? { changes: count, refused } : { changes: count })
  }
  const onNotice = (notice: { ruleId: string; message: string }) => {
    if (notice.ruleId !== 'read-only') return
    refused = notice.message
    ledger.set(handle.name, { changes: Math.max(1, changes()), refused })
  }
  handle.whenLoaded().then(
    () => {
      loadedCount = handle.saved ? 0 : handle.unsavedChanges
      update()
    },
    () => {},
  )
  handle.on('saved', update)
  handle.on('notice', onNotice)
  handle.doc.on('update', update)
  return () => {
    handle.off('saved', update)
    handle.off('notice', onNotice)
    handle.doc.off('update', update)
  }
}
