import type { Socket } from 'node:net'
import WebSocket from 'ws'

/**
 * `ws` as a WebSocket class that keeps the TCP socket of every connection it opens, so a test can
 * read the bytes that really crossed the wire (`bytesRead`, `bytesWritten`: frames, headers and
 * the upgrade included, after compression when a connection negotiated it). Given to a stock
 * WebsocketProvider as its WebSocketPolyfill.
 */
export interface CountingWebSocket {
  readonly WebSocket: typeof WebSocket
  /** Every connection's TCP socket, in the order they were opened. */
  readonly sockets: readonly Socket[]
}

export interface WireBytes {
  /** Bytes the client sent (upgrade request and frames). */
  readonly sent: number
  /** Bytes the client received (upgrade response and frames). */
  readonly received: number
}

export const countingWebSocket = (): CountingWebSocket => {
  const sockets: Socket[] = []
  class Counting extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols)
      this.once('upgrade', (response) => sockets.push(response.socket))
    }
  }
  // ws's overloaded constructor cannot be restated in a subclass; Counting takes the same arguments.
  return { WebSocket: Counting as unknown as typeof WebSocket, sockets }
}

/** The bytes of the given sockets together. */
export const wireBytes = (sockets: readonly Socket[]): WireBytes => ({
  sent: sockets.reduce((sum, socket) => sum + socket.bytesWritten, 0),
  received: sockets.reduce((sum, socket) => sum + socket.bytesRead, 0),
})
