import type * as decoding from 'lib0/decoding'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { MESSAGE_EXTENSION, readExtensionMessage, type Notice } from '../shared/extensionProtocol.ts'
import type { Role } from '../shared/schemas.ts'
import { fetchDevToken } from '../shared/testing/devTokens.ts'
import { waitUntil } from './waitUntil.ts'

/**
 * The load generator's clients: stock y-websocket `WebsocketProvider`s, unchanged, with `ws` as
 * their WebSocket and a real dev token — what a user of any Yjs backend would point at the server.
 * All of them live in the bench process.
 */

export interface BenchUser {
  readonly user: string
  readonly role: Role
  readonly tenant: string
}

export interface Ack {
  /** What the server had on disk when it acknowledged: clientID → clock. */
  readonly durableStateVector: Map<number, number>
  /** How many of this connection's update messages are durable (cumulative). */
  readonly durableMessages: number
  /** performance.now() when the ack arrived. */
  readonly at: number
}

export interface ServerClose {
  readonly code: number
  readonly reason: string
}

export interface BenchClient {
  readonly label: string
  readonly doc: Y.Doc
  readonly provider: WebsocketProvider
  /** Notices the server sent (only with `ext`). */
  readonly notices: Notice[]
  /** Closes the server initiated (a code in the event); local disconnects are not listed. */
  readonly serverCloses: ServerClose[]
  /** The latest ack (only with `ext`), or null. */
  lastAck(): Ack | null
  /** Calls `listener` on every ack (only with `ext`); returns the function that stops it. */
  onAck(listener: (ack: Ack) => void): () => void
  /** Resolves true once the provider is synced; false after the timeout. */
  whenSynced(timeoutMs?: number): Promise<boolean>
  destroy(): void
}

export interface ConnectOptions {
  /** ws://host:port of the server. */
  readonly url: string
  /** `<type>/<id>` */
  readonly room: string
  readonly token: string
  readonly label?: string
  /** Opt in to extension messages (acks, notices) with `?ext=1`. */
  readonly ext?: boolean
  /** Open the connection now (default) or leave the provider disconnected until `provider.connect()`. */
  readonly connect?: boolean
  readonly doc?: Y.Doc
}

/** A real token from the dev server's `GET /dev/token`. */
export const benchToken = (httpUrl: string, user: BenchUser): Promise<string> => fetchDevToken(httpUrl, user)

export const connectBenchClient = ({ url, room, token, label = room, ext = false, connect = true, doc = new Y.Doc() }: ConnectOptions): BenchClient => {
  const params: Record<string, string> = ext ? { token, ext: '1' } : { token }
  const provider = new WebsocketProvider(url, room, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    connect,
    params,
  })
  const notices: Notice[] = []
  const serverCloses: ServerClose[] = []
  const ackListeners = new Set<(ack: Ack) => void>()
  let lastAck: Ack | null = null

  if (ext) {
    provider.messageHandlers[MESSAGE_EXTENSION] = (_encoder, decoder: decoding.Decoder) => {
      const message = readExtensionMessage(decoder)
      if (message?.kind === 'notice') notices.push(message.notice)
      if (message?.kind === 'ack') {
        lastAck = {
          durableStateVector: Y.decodeStateVector(message.durableStateVector),
          durableMessages: message.durableMessages,
          at: performance.now(),
        }
        for (const listener of ackListeners) listener(lastAck)
      }
    }
  }
  provider.on('connection-close', (event) => {
    if (event) serverCloses.push({ code: event.code, reason: event.reason })
  })

  return {
    label,
    doc,
    provider,
    notices,
    serverCloses,
    lastAck: () => lastAck,
    onAck: (listener) => {
      ackListeners.add(listener)
      return () => void ackListeners.delete(listener)
    },
    whenSynced: (timeoutMs = 15_000) => waitUntil(() => provider.synced, { timeoutMs }),
    destroy: () => {
      provider.destroy()
      doc.destroy()
    },
  }
}

/** The server has `clientId`'s changes up to `clock` on disk, per the client's latest ack. */
export const ackCovers = (ack: Ack | null, clientId: number, clock: number): boolean =>
  ack !== null && (ack.durableStateVector.get(clientId) ?? 0) >= clock

/** This replica's own clock: how many items it has created (one per inserted character or map set). */
export const ownClock = (doc: Y.Doc): number => Y.getState(doc.store, doc.clientID)

/** Equal state vectors: the replicas hold the same set of changes. */
export const sameStateVector = (a: Y.Doc, b: Y.Doc): boolean => {
  const left = Y.encodeStateVector(a)
  const right = Y.encodeStateVector(b)
  return left.length === right.length && left.every((byte, i) => byte === right[i])
}

/**
 * The rich-text body as a ProseMirror/TipTap binding (y-prosemirror) shapes a one-paragraph
 * document: `body` fragment → `<paragraph>` → one Y.XmlText. Null until it exists in this replica.
 */
export const paragraphText = (doc: Y.Doc, root = 'body'): Y.XmlText | null => {
  const paragraph = doc.getXmlFragment(root).get(0)
  if (!(paragraph instanceof Y.XmlElement)) return null
  const text = paragraph.get(0)
  return text instanceof Y.XmlText ? text : null
}

/** Creates the paragraph with an empty Y.XmlText when the body is empty (the first client of a doc does this). */
export const createParagraph = (doc: Y.Doc, root = 'body'): Y.XmlText => {
  const existing = paragraphText(doc, root)
  if (existing) return existing
  const text = new Y.XmlText()
  const paragraph = new Y.XmlElement('paragraph')
  paragraph.insert(0, [text])
  doc.getXmlFragment(root).insert(0, [paragraph])
  return text
}

/** Destroys every client; tolerant of clients already destroyed. */
export const destroyAll = (clients: Iterable<BenchClient>): void => {
  for (const client of clients) {
    try {
      client.destroy()
    } catch {
      // already destroyed
    }
  }
}
