import * as Y from 'yjs'
import { fetchDevToken } from '../../shared/testing/devTokens.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { connectStockClient, type StockClient } from '../../shared/testing/stockClient.ts'

/**
 * An office behind one NAT address: `editors` stock y-websocket clients (each its own user) on
 * 127.0.0.1, spread over `documents` proposals, each typing `charsPerSecond` characters into the
 * proposal body with an awareness cursor update per keystroke, for `durationMs`. Counts every
 * close the server caused, so a caller can demand none; the characters typed are counted per
 * document, so a caller can compare them with what the server stored.
 */
export interface OfficeOptions {
  readonly url: string
  readonly httpUrl: string
  readonly editors: number
  readonly documents: number
  readonly charsPerSecond: number
  readonly durationMs: number
  /** Room names are `proposal/<prefix>-<n>`. */
  readonly prefix: string
  readonly log?: (message: string) => void
}

export interface OfficeResult {
  /** Storage-less document names (`proposal/<prefix>-<n>`) with the characters typed into each. */
  readonly typedByDocument: ReadonlyMap<string, number>
  readonly typed: number
  /** Close events the clients saw while they were meant to be connected. */
  readonly disconnects: number
  /** The close codes of those, with counts. */
  readonly closeCodes: ReadonlyMap<number, number>
  /** Clients that stopped reconnecting (stock y-websocket ≥ 3 gives up after 44xx). */
  readonly gaveUp: number
}

/** The body text of a proposal (the first XmlText of `body`). */
export const proposalBody = (doc: Y.Doc): Y.XmlText | null => {
  const first = doc.getXmlFragment('body').get(0)
  return first instanceof Y.XmlText ? first : null
}

/** Characters in a proposal's body after applying `updates` to a fresh document. */
export const storedCharacters = (updates: readonly Uint8Array[]): number => {
  const doc = new Y.Doc()
  for (const update of updates) Y.applyUpdate(doc, update)
  const length = proposalBody(doc)?.length ?? 0
  doc.destroy()
  return length
}

export const runOffice = async (options: OfficeOptions): Promise<OfficeResult> => {
  const { editors, documents, charsPerSecond, durationMs, prefix } = options
  const clients: StockClient[] = []
  const closeCodes = new Map<number, number>()
  let disconnects = 0
  let gaveUp = 0
  let measuring = false
  const typedByDocument = new Map<string, number>()
  const roomOf = (index: number) => `proposal/${prefix}-${index % documents}`
  try {
    // One client per document creates the body first, so concurrent first inserts cannot create
    // several body paragraphs; the others join once it is synced.
    for (let i = 0; i < editors; i++) {
      const token = await fetchDevToken(options.httpUrl, { user: `${prefix}-user-${i}`, role: 'editor' })
      const client = connectStockClient(options.url, roomOf(i), { params: { token } })
      client.provider.on('connection-close', (event: { code: number } | null) => {
        if (!measuring) return
        disconnects++
        const code = event?.code ?? 0
        closeCodes.set(code, (closeCodes.get(code) ?? 0) + 1)
      })
      client.provider.on('connection-error', () => {
        if (measuring) disconnects++
      })
      client.provider.on('closed', () => {
        if (measuring) gaveUp++
      })
      clients.push(client)
      if (i < documents) {
        await client.whenSynced()
        client.doc.getXmlFragment('body').insert(0, [new Y.XmlText()])
      }
    }
    await Promise.all(clients.map((client) => client.whenSynced()))
    await Promise.all(clients.map((client) => eventually(() => {
      if (!proposalBody(client.doc)) throw new Error('body not synced yet')
    })))
    options.log?.(`${editors} editors connected on ${documents} documents; typing for ${durationMs} ms`)
    measuring = true
    const keystrokeMs = 1000 / charsPerSecond
    const timers = clients.map((client, i) => {
      let typed = 0
      const room = roomOf(i)
      // Spread the clients' keystrokes over the interval instead of all at once.
      const start = setTimeout(() => {
        timer.interval = setInterval(() => {
          const body = proposalBody(client.doc)!
          const at = typed % (body.length + 1)
          body.insert(at, String.fromCharCode(97 + (typed % 26)))
          typed++
          typedByDocument.set(room, (typedByDocument.get(room) ?? 0) + 1)
          client.provider.awareness.setLocalStateField('cursor', { anchor: at + 1, head: at + 1, user: i })
        }, keystrokeMs)
      }, (i * keystrokeMs) / editors)
      const timer: { start: NodeJS.Timeout; interval?: NodeJS.Timeout } = { start }
      return timer
    })
    await new Promise((resolve) => setTimeout(resolve, durationMs))
    for (const timer of timers) {
      clearTimeout(timer.start)
      clearInterval(timer.interval)
    }
    // Everything typed has left the clients once every provider is connected with nothing unsent.
    measuring = false
    let typed = 0
    for (const count of typedByDocument.values()) typed += count
    return { typedByDocument, typed, disconnects, closeCodes, gaveUp }
  } finally {
    measuring = false
    // The caller checks the server's store; the clients' last updates must have left first.
    await Promise.all(clients.map((client) => eventually(() => {
      const socket = client.provider.ws as { bufferedAmount?: number } | null
      if (socket && (socket.bufferedAmount ?? 0) > 0) throw new Error('unsent')
    }, { timeoutMs: 10_000 }).catch(() => undefined)))
    for (const client of clients) client.destroy()
  }
}
