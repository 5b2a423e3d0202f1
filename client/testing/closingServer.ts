import type { AddressInfo } from 'node:net'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { WebSocketServer, type WebSocket } from 'ws'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'

/** How the stand-in server ends a connection: the close code and reason to send. */
export interface ScriptedClose {
  readonly code: number
  readonly reason: string
}

export interface ClosingServer {
  /** ws://127.0.0.1:PORT */
  readonly url: string
  /** The request URLs of the connections to `path` (`/proposal/<id>`), in order. */
  connections(path: string): string[]
  /** The `Sec-WebSocket-Protocol` header of each connection to `path`, in order. */
  subprotocols(path: string): string[]
  close(): Promise<void>
}

/**
 * A stand-in for the collab server that closes connections with any close code, for the client's
 * reconnect tests (the real server cannot be made to send 4401 or 4403 yet). It speaks just enough
 * sync protocol: each connection gets the server's sync step 1 and answers to the client's. Once
 * the client's first frame arrived (so its socket is surely open), `closeWith(path, n)` for the
 * n-th connection (from 1) to that path says how to close it, or null to keep it open.
 */
export const startClosingServer = async (closeWith: (path: string, connection: number) => ScriptedClose | null): Promise<ClosingServer> => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve)
    wss.once('error', reject)
  })
  const seen = new Map<string, string[]>()
  const offered = new Map<string, string[]>()
  const docs = new Map<string, Y.Doc>()
  wss.on('connection', (socket: WebSocket, request) => {
    const url = request.url ?? '/'
    const path = new URL(url, 'ws://localhost').pathname
    const urls = seen.get(path) ?? []
    urls.push(url)
    seen.set(path, urls)
    offered.set(path, [...(offered.get(path) ?? []), request.headers['sec-websocket-protocol'] ?? ''])
    const scripted = closeWith(path, urls.length)
    let doc = docs.get(path)
    if (!doc) docs.set(path, (doc = new Y.Doc()))
    const serverDoc = doc
    socket.send(syncFrame((encoder) => syncProtocol.writeSyncStep1(encoder, serverDoc)))
    socket.on('message', (data: Buffer) => {
      if (scripted) {
        if (socket.readyState === socket.OPEN) socket.close(scripted.code, scripted.reason)
        return
      }
      const decoder = decoding.createDecoder(new Uint8Array(data))
      if (decoding.readVarUint(decoder) !== 0) return // awareness and the like: ignored
      const reply = syncFrame((encoder) => syncProtocol.readSyncMessage(decoder, encoder, serverDoc, null))
      if (reply.length > 1) socket.send(reply)
    })
  })
  const { port } = wss.address() as AddressInfo
  return {
    url: `ws://127.0.0.1:${port}`,
    connections: (path) => [...(seen.get(path) ?? [])],
    subprotocols: (path) => [...(offered.get(path) ?? [])],
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate()
        wss.close(() => resolve())
      }),
  }
}

const syncFrame = (write: (encoder: encoding.Encoder) => void): Uint8Array => {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 0)
  write(encoder)
  return encoding.toUint8Array(encoder)
}
