import { IndexeddbPersistence } from 'y-indexeddb'
import * as Y from 'yjs'
import { CollabError, ErrorCode } from '../shared/errors.ts'
import type { LocalDocument, LocalStore, LocalStoreHooks } from './localStore.ts'

/**
 * The browser's local store: y-indexeddb, one IndexedDB database per document.
 *
 * `namespace` keeps the documents of different accounts apart on one browser profile: the same
 * `proposal/p-1` of two tenants must never merge into one local document (and then be pushed to
 * the other tenant's server document on the next sync). The database is `posalpro:<namespace>:<type>/<id>`.
 */
export const openIndexeddbLocalStore = (namespace: string): LocalStore => {
  let closed = false
  return {
    attach: (name, doc, hooks) => {
      if (closed) throw new CollabError(ErrorCode.PersistenceFailed, `local store ${namespace} is closed`)
      return new IndexeddbDocument(localDatabaseName(namespace, name), doc, hooks)
    },
    // Each document's database closes with the document (destroy); nothing is shared to release.
    close: async () => {
      closed = true
    },
  }
}

export const localDatabaseName = (namespace: string, name: string): string => `posalpro:${namespace}:${name}`

/**
 * Deletes the local copy of a document (sign-out on a shared computer). Unsaved edits go with it:
 * callers check `saved` first.
 */
export const deleteLocalDocument = (namespace: string, name: string): Promise<void> => deleteDatabase(localDatabaseName(namespace, name))

const deleteDatabase = (databaseName: string): Promise<void> =>
  new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(databaseName)
    request.onsuccess = () => resolve()
    request.onerror = () => reject(storeError(`deleting ${databaseName}`, request.error))
  })

/**
 * y-indexeddb's IndexeddbPersistence, extended to keep the LocalStore contract:
 *  - it *is* the LocalDocument, so the load transaction's origin (the persistence) is the
 *    LocalDocument the contract names;
 *  - failures are reported: y-indexeddb neither rejects `whenSynced` when the database cannot be
 *    opened nor looks at the outcome of its writes. IndexedDB bubbles every request error and
 *    transaction abort (a full disk aborts with QuotaExceededError) up to the database, where one
 *    listener sees them all;
 *  - `flush` waits for every write so far: IndexedDB runs read-write transactions on the same
 *    store in the order they were created, so when a new one completes, all earlier ones have.
 *    After a failed write it stores the whole document state again (the lost update is in it).
 */
class IndexeddbDocument extends IndexeddbPersistence implements LocalDocument {
  readonly loaded: Promise<void>
  private failure: Error | null = null
  private detached = false

  constructor(
    databaseName: string,
    doc: Y.Doc,
    private readonly hooks: LocalStoreHooks,
  ) {
    super(databaseName, doc)
    this.loaded = new Promise<void>((resolve, reject) => {
      this.whenSynced.then(() => resolve(), reject)
      this._db.then(
        (db) => {
          const onFailure = (event: Event) => {
            const error = storeError(`writing ${databaseName}`, (event.target as IDBRequest | IDBTransaction).error)
            this.failure = error
            // Before the load completed, a failure is the load's failure.
            if (!this.synced) reject(error)
            else hooks.onError(error)
          }
          db.addEventListener('error', onFailure)
          db.addEventListener('abort', onFailure)
        },
        (error: unknown) => reject(storeError(`opening ${databaseName}`, error)),
      )
    })
    this.loaded.catch(() => {})
  }

  async flush(): Promise<void> {
    await this.loaded
    const db = this.db
    if (db === null) return
    const retry = this.failure !== null
    await new Promise<void>((resolve, reject) => {
      const transaction = db.transaction(['updates'], 'readwrite')
      if (retry) transaction.objectStore('updates').add(Y.encodeStateAsUpdate(this.doc))
      transaction.oncomplete = () => resolve()
      transaction.onabort = () => reject(storeError(`flushing ${this.name}`, transaction.error))
    })
    if (retry) this.failure = null
  }

  async discard(): Promise<void> {
    this.detached = true
    this.doc.off('update', this._storeUpdate)
    await this.loaded.catch(() => {})
    await super.destroy() // closes the database, which must be closed before it can be deleted
    await deleteDatabase(this.name)
  }

  override async destroy(): Promise<void> {
    if (this.detached) return
    this.detached = true
    this.doc.off('update', this._storeUpdate)
    try {
      await this.loaded.catch(() => {})
      await this.flush()
    } finally {
      await super.destroy()
    }
  }
}

const storeError = (label: string, cause: unknown): CollabError => {
  const detail = cause instanceof Error || cause instanceof DOMException ? `${cause.name}: ${cause.message}` : String(cause ?? 'unknown error')
  return new CollabError(ErrorCode.PersistenceFailed, `local store: ${label}: ${detail}`)
}
