import { parseDocumentName, type DocumentType } from '../shared/documentName.ts'
import type { DocumentHandle } from './documentHandle.ts'
import { trackUnsaved, type UnsavedLedger } from './unsavedLedger.ts'

export interface SyncQueueOptions {
  /** The platform's openDocument with URL, token and local store bound (the local store is required). */
  readonly open: (type: DocumentType, id: string) => DocumentHandle
  readonly ledger: UnsavedLedger
  /** Documents uploaded at the same time (default 2): each is a WebSocket and a local-store handle. */
  readonly concurrency?: number
  /** True for a document open elsewhere (an editor): that handle uploads it itself. */
  readonly isOpenElsewhere?: (name: string) => boolean
}

/** How one upload attempt ended. */
export interface SyncResult {
  readonly name: string
  /** `uploaded`: the server has every change; `refused`: it will not take them; `failed`: retried on the next `run`. */
  readonly outcome: 'uploaded' | 'refused' | 'failed' | 'stopped'
  readonly reason?: string
}

/**
 * The background sync: uploads every document the ledger says has changes the server lacks,
 * without anyone opening it. Each is opened with its local store (so its changes are loaded), kept
 * open until the server has acknowledged them all, and released; a few at a time.
 *
 * `run()` when the device comes online, at start, and whenever the ledger gains an entry; `stop()`
 * when it goes offline or the account signs out (open handles are released; their changes stay
 * in the local store for the next run). A refused document (read-only access, a terminal close)
 * is marked so in the ledger and tried again only in the next round — after a `stop()`, that is
 * going offline and back, or a new page — so it never loops against the server.
 */
export class SyncQueue {
  private readonly open: SyncQueueOptions['open']
  private readonly ledger: UnsavedLedger
  private readonly concurrency: number
  private readonly isOpenElsewhere: (name: string) => boolean
  private readonly active = new Map<string, DocumentHandle>()
  /** Given up on in this round (refused, failed): not retried until `stop()` starts a new one. */
  private readonly settled = new Set<string>()
  /** Set by `stop()`; the next `run()` starts a new round. */
  private stopped = false
  private running: Promise<SyncResult[]> | null = null
  private again = false

  constructor(options: SyncQueueOptions) {
    this.open = options.open
    this.ledger = options.ledger
    this.concurrency = Math.max(1, options.concurrency ?? 2)
    this.isOpenElsewhere = options.isOpenElsewhere ?? (() => false)
  }

  /** Documents being uploaded right now. */
  get uploading(): ReadonlySet<string> {
    return new Set(this.active.keys())
  }

  /**
   * Uploads everything pending; resolves with what happened to each document once nothing is
   * left to do. Called while running, it makes the current run look at the ledger again.
   */
  run(): Promise<SyncResult[]> {
    if (this.stopped) {
      // A new round: what was refused or failed in the last one is tried again, once.
      this.stopped = false
      this.settled.clear()
    }
    if (this.running) {
      this.again = true
      return this.running
    }
    this.running = this.drain().finally(() => {
      this.running = null
    })
    return this.running
  }

  /** Releases every open handle (their changes stay local); a later `run` retries everything. */
  async stop(): Promise<void> {
    this.stopped = true
    const handles = [...this.active.values()]
    await Promise.all(handles.map((handle) => handle.destroy().catch(() => {})))
    await this.running?.catch(() => {})
  }

  private next(): string | undefined {
    for (const [name, entry] of this.ledger.entries()) {
      if (this.active.has(name) || this.settled.has(name) || this.isOpenElsewhere(name)) continue
      return name
    }
    return undefined
  }

  private async drain(): Promise<SyncResult[]> {
    const results: SyncResult[] = []
    const worker = async () => {
      for (let name = this.next(); name !== undefined && !this.stopped; name = this.next()) {
        const result = await this.upload(name)
        if (result.outcome === 'refused' || result.outcome === 'failed') this.settled.add(name)
        results.push(result)
      }
    }
    do {
      this.again = false
      await Promise.all(Array.from({ length: this.concurrency }, worker))
    } while (this.again && !this.stopped)
    return results
  }

  private async upload(name: string): Promise<SyncResult> {
    let handle: DocumentHandle
    try {
      const { type, id } = parseDocumentName(name)
      handle = this.open(type, id)
    } catch (error) {
      // A name no document can have: nothing can ever upload it.
      this.ledger.clear(name)
      return { name, outcome: 'refused', reason: (error as Error).message }
    }
    this.active.set(name, handle)
    const untrack = trackUnsaved(handle, this.ledger)
    let endRefused!: (reason: string) => void
    const refused = new Promise<string>((resolve) => (endRefused = resolve))
    handle.on('closed', (info) => {
      if (!info.willReconnect) endRefused(`the server closed the connection (${info.code} ${info.reason})`)
    })
    handle.on('notice', (notice) => {
      if (notice.ruleId === 'read-only') endRefused(notice.message)
    })
    try {
      const outcome = await Promise.race([
        (async () => {
          await handle.whenLoaded()
          await handle.whenSynced()
          await handle.whenSaved()
          return null
        })(),
        refused,
      ])
      if (outcome !== null) {
        const changes = Math.max(1, this.ledger.get(name)?.changes ?? 0)
        this.ledger.set(name, { changes, refused: outcome })
        return { name, outcome: 'refused', reason: outcome }
      }
      // Loaded, synced and saved: whatever the ledger held is on the server (also when the local
      // store turned out to hold nothing: then there was nothing to upload).
      this.ledger.clear(name)
      return { name, outcome: 'uploaded' }
    } catch (error) {
      return { name, outcome: this.stopped ? 'stopped' : 'failed', reason: (error as Error).message }
    } finally {
      untrack()
      this.active.delete(name)
      await handle.destroy().catch(() => {})
    }
  }
}
