import type * as Y from 'yjs'

/**
 * A device's local persistence of documents: the seam between the document handle and where the
 * bytes live (LevelDB in Node desktop shells, IndexedDB in browsers). With it a document opens,
 * and can be edited, with no server at all; edits made offline reach the server on the next sync.
 *
 * Contract every implementation keeps (one contract test suite runs against each):
 *  - `attach` loads the stored state into the doc, applying it in one transaction whose origin is
 *    the returned LocalDocument (so observers can tell loaded state from edits), and resolves
 *    `loaded` after that;
 *  - from `attach` on, every update of the doc — local edits and changes from the server alike —
 *    is stored, in order, as it happens (no debounce window in which a crash loses work);
 *  - a failed read or write is reported (`loaded` rejects, `onError` is called, `flush` rejects),
 *    never swallowed;
 *  - `destroy` stops listening and resolves only once everything before it is stored.
 */
export interface LocalStore {
  /** Binds `doc` to the stored state of the document called `name` (`<type>/<id>`). */
  attach(name: string, doc: Y.Doc, hooks: LocalStoreHooks): LocalDocument
  /**
   * Releases the caller's hold on the store (the database closes when no holder is left). Call it
   * after every attached document was destroyed.
   */
  close(): Promise<void>
}

export interface LocalStoreHooks {
  /** A write failed (the update stays in memory and is retried with the next one, and by `flush`). */
  readonly onError: (error: Error) => void
}

/** One document's binding to the local store. */
export interface LocalDocument {
  /** Resolves once the stored state is in the doc; rejects when it could not be read. */
  readonly loaded: Promise<void>
  /** Resolves when every update so far is stored; rejects when storing them failed. */
  flush(): Promise<void>
  /** Stops storing new updates, then flushes. Rejects like `flush`. */
  destroy(): Promise<void>
  /**
   * Stops storing new updates and deletes this document's local copy (what is not stored yet is
   * dropped): for a copy found damaged, which the next open loads afresh from the server.
   */
  discard(): Promise<void>
}
