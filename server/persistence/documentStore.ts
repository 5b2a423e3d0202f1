import * as Y from 'yjs'
import { LeveldbPersistence, getLevelUpdates } from 'y-leveldb'
import { CollabError, ErrorCode } from '../../shared/errors.ts'

/**
 * The server's durable store: y-leveldb in the data directory, with its failures made visible.
 *
 * y-leveldb runs every operation through `_transact`, which catches any error, logs it with
 * console.warn and resolves with `null`. A write that failed would therefore look like a write that
 * succeeded. Every operation here runs inside `_transact` (so it is serialized with y-leveldb's own
 * operations) but catches its own error and rethrows it as ERR_PERSISTENCE_FAILED.
 */
export class DocumentStore {
  private readonly persistence: LeveldbPersistence

  private constructor(readonly location: string) {
    this.persistence = new LeveldbPersistence(location)
  }

  /** Opens (and locks) the LevelDB in `location`; fails clearly when another process holds it. */
  static async open(location: string): Promise<DocumentStore> {
    const store = new DocumentStore(location)
    try {
      await store.run('open', async (db: { open(): Promise<void> }) => db.open())
    } catch (error) {
      if (/lock/i.test((error as Error).message)) {
        throw new CollabError(ErrorCode.DataDirLocked, `data directory ${location} is locked: another server is using it`)
      }
      throw error
    }
    return store
  }

  /** All stored updates of a document, oldest first. */
  loadUpdates(storageName: string): Promise<Uint8Array[]> {
    return this.run(`load ${storageName}`, (db) => getLevelUpdates(db, storageName))
  }

  /** Builds the stored document. Throws ERR_PERSISTENCE_FAILED when LevelDB cannot be read. */
  async loadDoc(storageName: string): Promise<{ doc: Y.Doc; storedUpdates: number }> {
    const updates = await this.loadUpdates(storageName)
    const doc = new Y.Doc({ gc: true })
    doc.transact(() => {
      for (const update of updates) Y.applyUpdate(doc, update)
    })
    return { doc, storedUpdates: updates.length }
  }

  /** The storage names of every stored document (y-leveldb keeps a state vector per document). */
  async documentNames(): Promise<string[]> {
    const names = await this.persistence.getAllDocNames()
    if (!Array.isArray(names)) throw new CollabError(ErrorCode.PersistenceFailed, 'listing documents failed')
    return names
  }

  /** Appends one update; resolves only once LevelDB has accepted the write. */
  async storeUpdate(storageName: string, update: Uint8Array): Promise<void> {
    const clock = await this.persistence.storeUpdate(storageName, update)
    // y-leveldb resolves with null when its transaction wrapper swallowed an error.
    if (typeof clock !== 'number') {
      throw new CollabError(ErrorCode.PersistenceFailed, `storing an update of ${storageName} failed`)
    }
  }

  /** Merges all stored updates of a document into one (y-leveldb's flushDocument). */
  async compact(storageName: string): Promise<void> {
    const result = await this.persistence.flushDocument(storageName)
    if (result === null) throw new CollabError(ErrorCode.PersistenceFailed, `compacting ${storageName} failed`)
  }

  async close(): Promise<void> {
    await this.run('close', (db: { close(): Promise<void> }) => db.close())
  }

  private async run<T>(label: string, operation: (db: never) => Promise<T>): Promise<T> {
    type Outcome = { ok: true; value: T } | { ok: false; error: unknown }
    const outcome: Outcome | null = await this.persistence._transact(async (db): Promise<Outcome> => {
      try {
        return { ok: true, value: await operation(db as never) }
      } catch (error) {
        return { ok: false, error }
      }
    })
    if (outcome === null || !outcome.ok) {
      const cause = outcome === null ? 'unknown error' : describe(outcome.error)
      throw new CollabError(ErrorCode.PersistenceFailed, `${label}: ${cause}`)
    }
    return outcome.value
  }
}

const describe = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error)
  const { cause, code } = error as Error & { cause?: unknown; code?: string }
  const text = code ? `${code}: ${error.message}` : error.message
  return cause instanceof Error ? `${text} (${describe(cause)})` : text
}
