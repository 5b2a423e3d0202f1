import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { eventually } from './eventually.ts'

export interface StockClient {
  readonly doc: Y.Doc
  readonly provider: WebsocketProvider
  /** Resolves once the provider reports `synced` (the server's sync step 2 arrived). */
  whenSynced(): Promise<void>
  destroy(): void
}

/**
 * A stock y-websocket WebsocketProvider, unchanged, with `ws` as its WebSocket in Node: exactly
 * what a user of another Yjs backend would point at this server.
 */
export const connectStockClient = (
  serverUrl: string,
  room: string,
  {
    params = {},
    doc = new Y.Doc(),
    connect = true,
    WebSocketPolyfill = WebSocket,
  }: {
    params?: Record<string, string>
    doc?: Y.Doc
    connect?: boolean
    /** Another WebSocket class, e.g. one that adds TLS options (`ca`, `cert`, `key`) to `ws`'s. */
    WebSocketPolyfill?: typeof WebSocket
  } = {},
): StockClient => {
  const provider = new WebsocketProvider(serverUrl, room, doc, {
    WebSocketPolyfill: WebSocketPolyfill as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    connect,
    params,
    // Keep reconnects quick in tests.
    maxBackoffTime: 200,
  })
  return {
    doc,
    provider,
    whenSynced: () =>
      eventually(() => {
        if (!provider.synced) throw new Error(`${room}: provider not synced`)
      }),
    destroy: () => {
      provider.destroy()
      doc.destroy()
    },
  }
}
