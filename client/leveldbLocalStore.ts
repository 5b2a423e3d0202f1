import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import * as Y from 'yjs'
import { LeveldbPersistence, PREFERRED_TRIM_SIZE, getLevelUpdates } from 'y-leveldb'
import { CollabError, ErrorCode } from '../shared/errors.ts'
import type { LocalDocument, LocalStore, LocalStoreHooks } from './localStore.ts'

/**
 * The Node desktop shell's local store: y-leveldb in a directory.
 *
 * LevelDB locks its directory, so one process may open it once. A desktop shell opens several
 * documents from the same directory (a proposal and its customer), so the database is shared per
 * directory within the process and closed when its last holder lets go; a holder that arrives while
 * the previous database is still closing waits for the close, instead of failing on the lock.
 */
export const openLeveldbLocalStore = (directory: string): LocalStore => {
  const database = acquire(path.resolve(directory))
  let closed: Promise<void> | null = null
  return {
    attach: (name, doc, hooks) => {
      if (closed) throw new CollabError(ErrorCode.PersistenceFailed, `local store ${database.directory} is closed`)
      return new LeveldbDocument(database, name, doc, hooks)
    },
    close: () => (closed ??= release(database)),
  }
}

interface SharedDatabase {
  readonly directory: string
  /** Created only after a previous database in the same directory has closed. */
  readonly persistence: Promise<LeveldbPersistence>
  holders: number
}

const open = new Map<string, SharedDatabase>()
/** The close of the last database per directory, which the next open waits for. */
const closing = new Map<string, Promise<void>>()

const acquire = (directory: string): SharedDatabase => {
  const existing = open.get(directory)
  if (existing) {
    existing.holders += 1
    return existing
  }
  const previousClose = closing.get(directory) ?? Promise.resolve()
  const persistence = previousClose.then(async () => {
    await mkdir(directory, { recursive: true })
    return new LeveldbPersistence(directory)
  })
  // Callers see failures through their own awaits; this only keeps an unobserved one quiet.
  persistence.catch(() => {})
  const database: SharedDatabase = { directory, persistence, holders: 1 }
  open.set(directory, database)
  return database
}

const release = async (database: SharedDatabase): Promise<void> => {
  database.holders -= 1
  if (database.holders > 0) return
  open.delete(database.directory)
  const done = database.persistence.then((persistence) =>
    run(persistence, `close ${database.directory}`, (db: { close(): Promise<void> }) => db.close()),
  )
  const settled = done.catch(() => {})
  closing.set(database.directory, settled)
  void settled.then(() => {
    if (closing.get(database.directory) === settled) closing.delete(database.directory)
  })
  await done
}

/**
 * Runs an operation on y-leveldb's serialized queue, but with its own error handling: y-leveldb's
 * `_transact` catches every error, logs it and resolves null, which would make a failed read look
 * like an empty document. Here a failure rejects with ERR_PERSISTENCE_FAILED.
 */
const run = async <T>(persistence: LeveldbPersistence, label: string, operation: (db: never) => Promise<T>): Promise<T> => {
  type Outcome = { ok: true; value: T } | { ok: false; error: unknown }
  const outcome: Outcome | null = await persistence._transact(async (db): Promise<Outcome> => {
    try {
      return { ok: true, value: await operation(db as never) }
    } catch (error) {
      return { ok: false, error }
    }
  })
  if (outcome === null || !outcome.ok) {
    throw new CollabError(ErrorCode.PersistenceFailed, `local store: ${label}: ${describe(outcome?.error)}`)
  }
  return outcome.value
}

const describe = (error: unknown): string => {
  if (error === undefined) return 'unknown error'
  if (!(error instanceof Error)) return String(error)
  const cause = (error as Error & { cause?: unknown }).cause
  return cause instanceof Error ? `${error.message} (${cause.message})` : error.message
}

/**
 * One document in the local LevelDB. Writes are queued: while one is in flight, the updates that
 * arrive meanwhile are merged into the next write, so a burst of edits costs a few writes and the
 * queue never holds more than one merged update.
 */
class LeveldbDocument implements LocalDocument {
  readonly loaded: Promise<void>
  private pending: Uint8Array[] = []
  private writing: Promise<void> | null = null
  /** The error of the last write, while its update is still unsaved. */
  private failure: Error | null = null
  private detached = false

  constructor(
    private readonly database: SharedDatabase,
    private readonly name: string,
    private readonly doc: Y.Doc,
    private readonly hooks: LocalStoreHooks,
  ) {
    doc.on('update', this.onUpdate)
    this.loaded = this.load()
    this.loaded.catch(() => {})
  }

  async flush(): Promise<void> {
    while (this.writing || this.pending.length > 0) {
      if (!this.writing) this.startWriting()
      await this.writing
      if (this.failure) throw this.failure
    }
  }

  async destroy(): Promise<void> {
    if (!this.detached) {
      this.detached = true
      this.doc.off('update', this.onUpdate)
    }
    await this.loaded.catch(() => {})
    await this.flush()
  }

  async discard(): Promise<void> {
    if (!this.detached) {
      this.detached = true
      this.doc.off('update', this.onUpdate)
    }
    this.pending = []
    await this.loaded.catch(() => {})
    await this.writing?.catch(() => {})
    const persistence = await this.persistence()
    // y-leveldb's clearDocument swallows errors: read back to be sure nothing is left.
    await persistence.clearDocument(this.name)
    const left = await run(persistence, `discard ${this.name}`, (db) => getLevelUpdates(db, this.name))
    if (left.length > 0) throw new CollabError(ErrorCode.PersistenceFailed, `local store: ${left.length} updates of ${this.name} survived discarding it`)
  }

  private async load(): Promise<void> {
    const persistence = await this.persistence()
    const updates = await run(persistence, `load ${this.name}`, (db) => getLevelUpdates(db, this.name))
    if (this.detached) return
    // One transaction with this binding as origin: observers see the loaded state as one update,
    // and onUpdate does not store it again.
    this.doc.transact(() => {
      for (const update of updates) Y.applyUpdate(this.doc, update, this)
    }, this)
    if (updates.length > PREFERRED_TRIM_SIZE) {
      // Merge the stored updates into one, on y-leveldb's queue (it serializes with our writes).
      void persistence.flushDocument(this.name).then((result) => {
        if (result === null) this.hooks.onError(new CollabError(ErrorCode.PersistenceFailed, `local store: compacting ${this.name} failed`))
      })
    }
  }

  private persistence(): Promise<LeveldbPersistence> {
    return this.database.persistence.catch((error: unknown) => {
      throw new CollabError(ErrorCode.PersistenceFailed, `local store: open ${this.database.directory}: ${describe(error)}`)
    })
  }

  private readonly onUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === this) return
    this.pending.push(update)
    if (!this.writing) this.startWriting()
  }

  private startWriting(): void {
    this.writing = this.writeAll().finally(() => {
      this.writing = null
    })
  }

  private async writeAll(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending
      this.pending = []
      const update = batch.length === 1 ? batch[0]! : Y.mergeUpdates(batch)
      try {
        await this.store(update)
        this.failure = null
      } catch (error) {
        // Keep the update: it goes out with the next write (or the next flush).
        this.pending.unshift(update)
        this.failure = error as Error
        this.hooks.onError(this.failure)
        return
      }
    }
  }

  private async store(update: Uint8Array): Promise<void> {
    const persistence = await this.persistence()
    const clock = await persistence.storeUpdate(this.name, update)
    // y-leveldb resolves with null when its transaction wrapper swallowed an error.
    if (typeof clock !== 'number') {
      throw new CollabError(ErrorCode.PersistenceFailed, `local store: storing an update of ${this.name} failed`)
    }
  }
}
