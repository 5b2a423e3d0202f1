import { createRequire } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { countingWebSocket, wireBytes, type WireBytes } from '../../shared/testing/countingWebSocket.ts'
import { fetchDevToken } from '../../shared/testing/devTokens.ts'
import { spawnServer, type ServerProcess } from '../../shared/testing/serverProcess.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { BENCH_SERVER_ARGS } from '../serverProcess.ts'

/**
 * The servers the large-document bench compares, behind one shape: ours (server/main.ts in its
 * own process, stock y-websocket providers) and, when peerbench is there, Hocuspocus with its
 * file store (peerbench's `servers.mjs hocuspocus-file`, its own `@hocuspocus/provider`).
 *
 * A replica's document is whatever Yjs its provider uses (Hocuspocus's provider brings its own
 * copy of yjs), so the bench hands replicas updates (bytes), never Yjs objects.
 */
export interface Replica {
  /** The provider reported synced. */
  readonly synced: boolean
  stateVector(): Uint8Array
  /** Characters of the body as XML (equal strings: equal content). */
  bodyXml(): string
  /** Applies an update (from the bench's own writer doc) as a local change: the provider sends it. */
  applyLocal(update: Uint8Array): void
  /** Small local edit: appends `text` to the first paragraph. */
  appendToFirstParagraph(text: string): void
  /** Bytes on the wire of every connection this replica opened. */
  wire(): WireBytes
  /** Of the connections opened since `from` (a count of `connections()`). */
  wireSince(from: number): WireBytes
  connections(): number
  disconnect(): void
  connect(): void
  destroy(): void
}

export interface LargeDocTarget {
  readonly name: string
  /** The process whose CPU and RSS are measured. */
  pid(): number
  replica(room: string, user: string): Promise<Replica>
  /** Stops the server and starts it again on the same port and data: the next load is cold. */
  restart(): Promise<void>
  stop(): Promise<void>
  /** What a writer waits for before the document counts as stored (null: nothing to wait for). */
  durable?: (replica: Replica) => Promise<void>
}

export const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((byte, i) => byte === b[i])

/**
 * The replica holds every change the writer made (state vector `expected`). Not equality: a
 * server may add changes of its own (the gate writes edit times), which the writer never saw.
 */
export const coversStateVector = (actual: Uint8Array, expected: Uint8Array): boolean => {
  const have = Y.decodeStateVector(actual)
  for (const [client, clock] of Y.decodeStateVector(expected)) if ((have.get(client) ?? 0) < clock) return false
  return true
}

/** Yjs-side helpers written once for either copy of yjs (ours or the one Hocuspocus's provider loads). */
type Yjs = typeof Y
const replicaOps = (Yx: Yjs, doc: Y.Doc) => ({
  stateVector: () => Yx.encodeStateVector(doc),
  bodyXml: () => doc.getXmlFragment('body').toString(),
  applyLocal: (update: Uint8Array) => Yx.applyUpdate(doc, update, 'bench-local'),
  appendToFirstParagraph: (text: string) => {
    for (const block of doc.getXmlFragment('body').toArray()) {
      if (block instanceof Yx.XmlElement && block.nodeName === 'paragraph') {
        const xmlText = block.get(0) as Y.XmlText
        xmlText.insert(xmlText.length, text)
        return
      }
    }
  },
})

/** Our server: server/main.ts in its own process, with the bench's raised rate limits and `args`. */
export const ourServer = async (name: string, args: readonly string[]): Promise<LargeDocTarget> => {
  const dir = await tempDir('posalpro-bench-large-')
  const spawn = (port = 0) => spawnServer({ dataDir: dir.path, port, args: [...BENCH_SERVER_ARGS, ...args] })
  let server: ServerProcess = await spawn()
  return {
    name,
    pid: () => server.child.pid!,
    replica: async (room, user) => {
      // A manager: the proposal's figures are a manager's to write (an editor's are held for review).
      const token = await fetchDevToken(server.httpUrl, { user, role: 'manager', tenant: 'bench' })
      const doc = new Y.Doc()
      const wire = countingWebSocket()
      const provider = new WebsocketProvider(server.url, room, doc, {
        WebSocketPolyfill: wire.WebSocket as unknown as typeof globalThis.WebSocket,
        disableBc: true,
        params: { token },
        maxBackoffTime: 500,
      })
      return {
        get synced() {
          return provider.synced
        },
        ...replicaOps(Y, doc),
        wire: () => wireBytes(wire.sockets),
        wireSince: (from) => wireBytes(wire.sockets.slice(from)),
        connections: () => wire.sockets.length,
        disconnect: () => provider.disconnect(),
        connect: () => provider.connect(),
        destroy: () => {
          provider.destroy()
          doc.destroy()
        },
      }
    },
    restart: async () => {
      const port = server.port
      await server.stop()
      server = await spawn(port)
    },
    stop: async () => {
      await server.stop()
      await dir.remove()
    },
  }
}

interface PeerbenchServer {
  readonly url: string
  readonly pid: number
  restart(): Promise<unknown>
  stop(): Promise<void>
}

/** Hocuspocus with its file store, from a peerbench folder (its servers.mjs and node_modules). */
export const hocuspocusFile = async (peerbenchDir: string): Promise<LargeDocTarget> => {
  const { startServer } = (await import(pathToFileURL(path.join(peerbenchDir, 'servers.mjs')).href)) as {
    startServer(options: { mode: string; log?: boolean }): Promise<PeerbenchServer>
  }
  const requireThere = createRequire(path.join(peerbenchDir, 'package.json'))
  // Its provider and the yjs it loads (one copy: both through require from that folder). Yjs then
  // warns that it was imported twice: harmless here, no Yjs object crosses between the copies.
  const TheirY = requireThere('yjs') as Yjs
  const { HocuspocusProvider } = requireThere('@hocuspocus/provider') as {
    HocuspocusProvider: new (options: Record<string, unknown>) => { disconnect(): void; connect(): Promise<unknown>; destroy(): void; isSynced: boolean }
  }
  const server = await startServer({ mode: 'hocuspocus-file', log: false })
  return {
    name: 'Hocuspocus+files',
    pid: () => server.pid,
    replica: async (room) => {
      const doc = new TheirY.Doc()
      const wire = countingWebSocket()
      let synced = false
      const provider = new HocuspocusProvider({
        url: server.url,
        name: room,
        document: doc,
        WebSocketPolyfill: wire.WebSocket as unknown as typeof WebSocket,
        onSynced: () => {
          synced = true
        },
      })
      return {
        get synced() {
          return synced
        },
        ...replicaOps(TheirY, doc),
        wire: () => wireBytes(wire.sockets),
        wireSince: (from) => wireBytes(wire.sockets.slice(from)),
        connections: () => wire.sockets.length,
        disconnect: () => provider.disconnect(),
        connect: () => void provider.connect(),
        destroy: () => {
          provider.destroy()
          doc.destroy()
        },
      }
    },
    restart: async () => {
      await server.restart()
    },
    stop: () => server.stop(),
  }
}
