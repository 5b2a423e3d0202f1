import WebSocket from 'ws'
import type { DocumentType } from '../shared/documentName.ts'
import type { DocumentHandle } from './documentHandle.ts'
import { openLeveldbLocalStore } from './leveldbLocalStore.ts'
import { openDocumentOn, type OpenDocumentOptions, type Platform } from './openDocument.ts'
import type { WebSocketClass } from './outgoingMessages.ts'
import { prefetchWith, type PrefetchOptions, type PrefetchResult, type PrefetchTarget } from './prefetch.ts'

/**
 * The client for Node desktop shells: `ws` as the WebSocket, LevelDB as the local store.
 *
 *   const handle = openDocument('proposal', 'p-1', { url: 'ws://127.0.0.1:1234', offline: { directory } })
 *   await handle.whenLoaded()          // local state is in handle.doc, server or not
 *   handle.model.meta.set('title', 'Fleet renewal')
 *   await handle.whenSaved()           // durable on the server
 *   await handle.destroy()
 */
export interface NodeOpenDocumentOptions extends OpenDocumentOptions {
  /**
   * Keep the document in a local LevelDB in `directory` (created if missing), so it opens and can
   * be edited without a server. Several documents may share one directory; one process at a time
   * may use it (LevelDB locks it). Default false: memory only, edits made offline are lost with
   * the process.
   */
  readonly offline?: { readonly directory: string } | false
}

export const openDocument = <T extends DocumentType>(type: T, id: string, options: NodeOpenDocumentOptions): DocumentHandle<T> => {
  const platform: Platform = {
    WebSocket: WebSocket as unknown as WebSocketClass,
    openLocalStore: () => (options.offline ? openLeveldbLocalStore(options.offline.directory) : null),
  }
  return openDocumentOn(platform, type, id, options)
}

/**
 * Brings `targets` into the local LevelDB for offline work ("travel mode"); see prefetchWith.
 * Needs `options.offline`: without a local store there is nothing to keep.
 */
export const prefetch = (
  targets: readonly PrefetchTarget[],
  options: NodeOpenDocumentOptions & { readonly offline: { readonly directory: string } },
  progress: PrefetchOptions = {},
): Promise<PrefetchResult[]> => prefetchWith((type, id) => openDocument(type, id, options), targets, progress)

export type { DocumentHandle, DocumentHandleEvents } from './documentHandle.ts'
export type { PrefetchOptions, PrefetchResult, PrefetchTarget } from './prefetch.ts'
export type { CloseInfo, ConnectionStatus } from './connection.ts'
export type { OpenDocumentOptions } from './openDocument.ts'
export type { LocalStore, LocalDocument } from './localStore.ts'
export type { Notice } from '../shared/extensionProtocol.ts'
export { CollabError, ErrorCode } from '../shared/errors.ts'
export { openLeveldbLocalStore } from './leveldbLocalStore.ts'
/** Pre-check edits with the server's own rules (grey out what the server would refuse). */
export { precheckEdits, type FieldEdit } from '../shared/rules/precheck.ts'
export type { Actor, Violation } from '../shared/rules/ruleTypes.ts'
