import { documentName, type DocumentName, type DocumentType } from '../shared/documentName.ts'
import { DocumentHandle } from './documentHandle.ts'
import type { NetworkSignal } from './connection.ts'
import type { LocalStore } from './localStore.ts'
import type { WebSocketClass } from './outgoingMessages.ts'

/** Options every platform's `openDocument` takes; a platform adds how to keep documents offline. */
export interface OpenDocumentOptions {
  /** The server's WebSocket URL without a path (`wss://collab.example.com`); `/<type>/<id>` is appended. */
  readonly url: string
  /** Sent in `Sec-WebSocket-Protocol` (`bearer.<token>`), never in the URL. Ignored when `getToken` is given. */
  readonly token?: string
  /**
   * Called before every connection attempt (the first and each reconnect); its result is sent in
   * `Sec-WebSocket-Protocol`, so an expired token is replaced without reopening the document.
   * When it throws, the attempt counts as failed (an `error` event) and is retried with backoff.
   */
  readonly getToken?: () => Promise<string> | string
  /** Connect at once (default). With false the handle works from the local store until `connect()`. */
  readonly connect?: boolean
  /**
   * Upper bound of the exponential reconnect backoff (100 ms · 2^attempts), in ms. Default 2500,
   * y-websocket's: lower reconnects sooner after an outage but costs more attempts while it lasts.
   */
  readonly maxBackoffMs?: number
}

export const DEFAULT_MAX_BACKOFF_MS = 2500

/** What differs between platforms: the WebSocket class and the local store. */
export interface Platform {
  readonly WebSocket: WebSocketClass
  /** Opens the store for this document, or returns null for none; called once the name is valid. */
  readonly openLocalStore: (document: DocumentName) => LocalStore | null
  /** Where the platform knows whether the device is online (browsers); omitted: assume it is. */
  readonly network?: NetworkSignal
}

/**
 * Opens `<type>/<id>` on a platform. Throws a CollabError (ERR_BAD_DOCUMENT_NAME) for an id that is
 * not a valid document id; everything else (loading, connecting) happens in the background and is
 * reported through the handle.
 */
export const openDocumentOn = <T extends DocumentType>(
  platform: Platform,
  type: T,
  id: string,
  options: OpenDocumentOptions,
): DocumentHandle<T> => {
  const document = documentName(type, id) as DocumentName & { readonly type: T }
  return new DocumentHandle({
    document,
    url: options.url,
    WebSocket: platform.WebSocket,
    localStore: platform.openLocalStore(document),
    token: options.token,
    getToken: options.getToken,
    connect: options.connect ?? true,
    maxBackoffMs: options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS,
    network: platform.network ?? null,
  })
}
