import { openDocument } from '../browser.ts'
import { SyncQueue } from '../syncQueue.ts'
import { UnsavedLedger } from '../unsavedLedger.ts'
import { h } from './dom.ts'
import { collabUrl } from './serverApi.ts'
import { localNamespace, tokenSource, type Session } from './session.ts'

/**
 * One account's background sync on this device: the ledger of documents with changes not on the
 * server (kept in localStorage, next to the documents' IndexedDB), and the queue that uploads them
 * whenever the device is online — at start, on the `online` event, and when the ledger gains an
 * entry (a document left with unsent changes). Offline, the queue lets its documents go at once.
 */
export class BackgroundSync {
  readonly ledger: UnsavedLedger
  private readonly queue: SyncQueue
  /** Set by `dispose()`: a view released afterwards (signing out from an editor) starts nothing. */
  private disposed = false
  private readonly onOnline = () => {
    if (!this.disposed) void this.queue.run()
  }
  private readonly onOffline = () => void this.queue.stop()
  private readonly onLedgerChange = () => {
    if (!this.disposed && navigator.onLine) void this.queue.run()
  }

  /** Documents a view has open, with how many hold each: their own handles upload them. */
  private readonly holds = new Map<string, number>()

  constructor(readonly session: Session) {
    const key = `posalpro.unsaved.${localNamespace(session)}`
    this.ledger = new UnsavedLedger({ read: () => localStorage.getItem(key), write: (value) => localStorage.setItem(key, value) })
    const getToken = tokenSource(session)
    this.queue = new SyncQueue({
      open: (type, id) => openDocument(type, id, { url: collabUrl(), getToken, offline: { namespace: localNamespace(session) } }),
      ledger: this.ledger,
      isOpenElsewhere: (name) => this.holds.has(name),
    })
    globalThis.addEventListener('online', this.onOnline)
    globalThis.addEventListener('offline', this.onOffline)
    this.ledger.on('change', this.onLedgerChange)
  }

  /**
   * Keeps the queue away from `name` while a view has it open, until the returned function is
   * called — after that view's handle is released, so everything it wrote is in the local store
   * before the queue loads it (a second handle opened earlier would miss the last edits, upload
   * the rest and clear the ledger). Releasing looks for work at once.
   */
  hold(name: string): () => void {
    this.holds.set(name, (this.holds.get(name) ?? 0) + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      const left = (this.holds.get(name) ?? 1) - 1
      if (left > 0) this.holds.set(name, left)
      else this.holds.delete(name)
      this.onLedgerChange()
    }
  }

  /** Looks for documents to upload. */
  poke(): void {
    this.onLedgerChange()
  }

  async dispose(): Promise<void> {
    this.disposed = true
    globalThis.removeEventListener('online', this.onOnline)
    globalThis.removeEventListener('offline', this.onOffline)
    this.ledger.off('change', this.onLedgerChange)
    await this.queue.stop()
  }
}

/** The header's "N changes not uploaded yet" across all documents; hidden when there are none. */
export const pendingUploads = (ledger: UnsavedLedger): { element: HTMLElement; dispose: () => void } => {
  const element = h('span', { class: 'pending-uploads', role: 'status' })
  const render = () => {
    const count = ledger.totalChanges()
    element.hidden = count === 0
    element.textContent = count === 0 ? '' : `${count} ${count === 1 ? 'change' : 'changes'} not uploaded yet`
  }
  ledger.on('change', render)
  render()
  return { element, dispose: () => ledger.off('change', render) }
}
