import type { DocumentType } from '../shared/documentName.ts'
import type { NetworkSignal } from './connection.ts'
import type { DocumentHandle } from './documentHandle.ts'
import { openIndexeddbLocalStore } from './indexeddbLocalStore.ts'
import { openDocumentOn, type OpenDocumentOptions } from './openDocument.ts'
import { prefetchWith, type PrefetchOptions, type PrefetchResult, type PrefetchTarget } from './prefetch.ts'

/**
 * The client for browsers: the browser's WebSocket, IndexedDB (y-indexeddb) as the local store.
 *
 *   const handle = openDocument('proposal', 'p-1', { url: 'wss://collab.example.com', getToken, offline: { namespace: 'acme/alice' } })
 *   await handle.whenLoaded()          // opens from IndexedDB at once, network or not
 *   handle.model.meta.set('title', 'Fleet renewal')
 *   handle.on('saved', (saved) => …)   // true once the server has it durably
 */
export interface BrowserOpenDocumentOptions extends OpenDocumentOptions {
  /**
   * Keep the document in IndexedDB so it opens, and can be edited, without a network. `namespace`
   * separates accounts on one browser profile (use tenant and user): documents of two namespaces
   * never mix. Default false: memory only, edits made offline are lost with the page.
   */
  readonly offline?: { readonly namespace: string } | false
}

export const openDocument = <T extends DocumentType>(type: T, id: string, options: BrowserOpenDocumentOptions): DocumentHandle<T> => {
  const offline = options.offline
  return openDocumentOn(
    {
      WebSocket: globalThis.WebSocket,
      openLocalStore: () => (offline ? openIndexeddbLocalStore(offline.namespace) : null),
      network: browserNetwork,
    },
    type,
    id,
    options,
  )
}

/** `navigator.onLine` and the window's online/offline events. */
const browserNetwork: NetworkSignal = {
  online: () => navigator.onLine,
  subscribe: (listener) => {
    const online = () => listener(true)
    const offline = () => listener(false)
    globalThis.addEventListener('online', online)
    globalThis.addEventListener('offline', offline)
    return () => {
      globalThis.removeEventListener('online', online)
      globalThis.removeEventListener('offline', offline)
    }
  },
}

/**
 * Brings `targets` into IndexedDB for offline work ("travel mode"); see prefetchWith. Needs
 * `options.offline`: without a local store there is nothing to keep.
 */
export const prefetch = (
  targets: readonly PrefetchTarget[],
  options: BrowserOpenDocumentOptions & { readonly offline: { readonly namespace: string } },
  progress: PrefetchOptions = {},
): Promise<PrefetchResult[]> => prefetchWith((type, id) => openDocument(type, id, options), targets, progress)

export type { DocumentHandle, DocumentHandleEvents } from './documentHandle.ts'
export type { CloseInfo, ConnectionStatus } from './connection.ts'
export type { OpenDocumentOptions } from './openDocument.ts'
export type { PrefetchOptions, PrefetchResult, PrefetchTarget } from './prefetch.ts'
export type { Notice } from '../shared/extensionProtocol.ts'
export { CollabError, ErrorCode } from '../shared/errors.ts'
export { deleteLocalDocument } from './indexeddbLocalStore.ts'
export { precheckEdits, type FieldEdit } from '../shared/rules/precheck.ts'
export type { Actor, Violation } from '../shared/rules/ruleTypes.ts'
