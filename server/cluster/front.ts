import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import net, { type AddressInfo, type Socket } from 'node:net'
import { ErrorCode } from '../../shared/errors.ts'
import { sendJson } from '../http/httpReply.ts'
import { relayBounded } from './boundedRelay.ts'
import { watchNodeHealth, type NodeHealth } from './nodeHealth.ts'
import { rankNodes } from './rendezvous.ts'

/**
 * The development front of `npm run cluster`: one port, forwarding every HTTP request and
 * WebSocket upgrade to one of the nodes, chosen by rendezvous hashing of the URL path. A
 * document's path always ranks the nodes the same way, so its clients meet on one node (usually
 * the document's owner, which saves the node-to-node hop). A node that refuses the connection or
 * fails its `/healthz` probe is skipped for the next one by rank.
 *
 * It is a demo and test tool, not a production load balancer: no TLS, no connection limits
 * besides the buffers, no retries once bytes went out. In production use HAProxy, nginx
 * (`hash $request_uri consistent`) or a cloud load balancer (README, Cluster mode).
 */
export interface FrontOptions {
  /** Base URLs of the nodes (`http://127.0.0.1:8081`). */
  readonly nodes: readonly string[]
  readonly host?: string
  /** 0 picks a free port. */
  readonly port?: number
  /** A node that has not accepted the TCP connection by then is skipped (and marked down). */
  readonly connectTimeoutMs?: number
  /**
   * A node that accepted but has not begun its answer by then (a hung or SIGSTOPped process) gets
   * the request cut off: 502. Only before the first byte; a WebSocket may then stay quiet forever.
   */
  readonly answerTimeoutMs?: number
  /** Bytes a piped connection may hold per direction before it stops reading the sender. */
  readonly maxBufferedBytes?: number
  readonly healthIntervalMs?: number
  readonly healthTimeoutMs?: number
  /** Called when a node is found down or up again. */
  readonly onNodeChange?: (node: string, up: boolean) => void
}

export interface Front {
  readonly port: number
  /** http://HOST:PORT */
  readonly url: string
  /** The nodes in the order the front tries them for this path (healthy or not). */
  rank(path: string): string[]
  readonly health: NodeHealth
  /** The most bytes one piped direction held so far (to check the bound). */
  peakBufferedBytes(): number
  /** Stops listening and cuts every open connection. */
  close(): Promise<void>
}

export const FRONT_DEFAULTS = {
  connectTimeoutMs: 2_000,
  answerTimeoutMs: 30_000,
  // 1 MiB per direction: a full sync step 2 of an ordinary document passes without a pause, and
  // 1,000 connections cost at most 2 GiB only if every one of them has a receiver that stalled.
  maxBufferedBytes: 1024 * 1024,
  healthIntervalMs: 2_000,
  healthTimeoutMs: 1_000,
} as const

/** Hop-by-hop headers (RFC 9110 §7.6.1) are the front's own; the rest pass unchanged. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'])

export const startFront = async (options: FrontOptions): Promise<Front> => {
  const settings = { ...FRONT_DEFAULTS, ...options }
  const nodes = settings.nodes.map((node) => new URL(node).origin)
  if (nodes.length === 0) throw new Error('the front needs at least one node')
  const health = watchNodeHealth(nodes, {
    intervalMs: settings.healthIntervalMs,
    timeoutMs: settings.healthTimeoutMs,
    ...(options.onNodeChange ? { onChange: options.onNodeChange } : {}),
  })
  const open = new Set<Socket>()
  let peak = 0
  const notePeak = (bytes: number) => {
    if (bytes > peak) peak = bytes
  }

  const rank = (path: string) => rankNodes(path, nodes)
  /** Healthy nodes by rank; when none is believed healthy, all of them (the probe may lag). */
  const candidatesFor = (rawUrl: string | undefined): string[] => {
    const ranked = rank(pathOf(rawUrl))
    const healthy = ranked.filter((node) => health.isUp(node))
    return healthy.length > 0 ? healthy : ranked
  }
  const connectToNode = async (candidates: readonly string[]): Promise<{ node: string; socket: Socket } | null> => {
    for (const node of candidates) {
      const socket = await connectWithin(node, settings.connectTimeoutMs)
      if (socket) {
        track(socket)
        return { node, socket }
      }
      health.markDown(node)
    }
    return null
  }
  const track = (socket: Socket) => {
    open.add(socket)
    socket.once('close', () => open.delete(socket))
    // An error ends the socket ('close' follows); without a listener it would end the process.
    socket.on('error', () => {})
  }

  const forwardRequest = async (request: IncomingMessage, response: ServerResponse) => {
    const reached = await connectToNode(candidatesFor(request.url))
    if (!reached) {
      badGateway(response, 'no node accepted the connection')
      return
    }
    const upstream = http.request({
      createConnection: () => reached.socket,
      method: request.method,
      path: request.url,
      headers: { ...forwardedHeaders(request), connection: 'close' },
    })
    const answerTimer = setTimeout(() => upstream.destroy(new Error('no answer in time')), settings.answerTimeoutMs)
    upstream.once('close', () => clearTimeout(answerTimer))
    upstream.once('response', (answer) => {
      clearTimeout(answerTimer)
      const headers = Object.fromEntries(Object.entries(answer.headers).filter(([name]) => !HOP_BY_HOP.has(name)))
      response.writeHead(answer.statusCode ?? 502, answer.statusMessage, headers)
      answer.pipe(response)
      // The node went away mid-answer: the client must see a broken response, not a short one.
      answer.once('aborted', () => response.destroy())
      answer.once('error', () => response.destroy())
    })
    upstream.once('error', () => {
      if (!response.headersSent) badGateway(response, `the node ${reached.node} closed the connection or did not answer in time`)
      else response.destroy()
    })
    // The client left: the node's work for it is cut off too.
    response.once('close', () => {
      if (!response.writableFinished) upstream.destroy()
    })
    request.pipe(upstream)
  }

  const forwardUpgrade = async (request: IncomingMessage, client: Socket, head: Buffer) => {
    track(client)
    const reached = await connectToNode(candidatesFor(request.url))
    if (client.destroyed) {
      reached?.socket.destroy()
      return
    }
    if (!reached) {
      rawBadGateway(client, 'no node accepted the connection')
      return
    }
    const { socket: upstream, node } = reached
    // The handshake is passed on as it came (with the front's X-Forwarded-For); from then on
    // bytes flow unchanged both ways, so the node's 101 or its refusal (401, 403, 503), every
    // frame and the closing handshake with its close code reach the client exactly as sent.
    let answered = false
    const answerTimer = setTimeout(() => upstream.destroy(), settings.answerTimeoutMs)
    upstream.once('close', () => {
      clearTimeout(answerTimer)
      if (!answered && !client.destroyed) rawBadGateway(client, `the node ${node} closed the connection or did not answer in time`)
    })
    upstream.once('data', (first: Buffer) => {
      clearTimeout(answerTimer)
      answered = true
      client.write(first)
      relayBounded(upstream, client, settings.maxBufferedBytes, notePeak)
    })
    upstream.write(upgradeHead(request))
    if (head.length > 0) upstream.write(head)
    relayBounded(client, upstream, settings.maxBufferedBytes, notePeak)
  }

  const server = http.createServer((request, response) => {
    forwardRequest(request, response).catch(() => response.destroy())
  })
  server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
    forwardUpgrade(request, socket, head).catch(() => socket.destroy())
  })
  server.on('connection', (socket: Socket) => track(socket))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(settings.port ?? 0, settings.host ?? '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const host = settings.host ?? '127.0.0.1'
  return {
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    rank,
    health,
    peakBufferedBytes: () => peak,
    async close() {
      health.stop()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const socket of open) socket.destroy()
      await closed
    },
  }
}

/** The path without the query: the token in `?token=` must not move a document to another node. */
const pathOf = (rawUrl: string | undefined): string => {
  const url = rawUrl ?? '/'
  const query = url.indexOf('?')
  return query < 0 ? url : url.slice(0, query)
}

/**
 * The client's headers with X-Forwarded-For replaced by the address the front saw. Replaced, not
 * appended: the nodes (trust-proxy) take the first entry, which a client could otherwise choose.
 */
const forwardedHeaders = (request: IncomingMessage): Record<string, string | string[]> => {
  const headers: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || name === 'x-forwarded-for' || HOP_BY_HOP.has(name)) continue
    headers[name] = value
  }
  headers['x-forwarded-for'] = clientAddress(request)
  return headers
}

const clientAddress = (request: IncomingMessage): string => (request.socket.remoteAddress ?? '').replace(/^::ffff:/, '')

/** The upgrade request's head as the node must see it: the client's headers, its X-Forwarded-For replaced. */
const upgradeHead = (request: IncomingMessage): string => {
  const lines = [`${request.method ?? 'GET'} ${request.url ?? '/'} HTTP/1.1`]
  const raw = request.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'x-forwarded-for') continue
    lines.push(`${raw[i]}: ${raw[i + 1]}`)
  }
  lines.push(`X-Forwarded-For: ${clientAddress(request)}`)
  return `${lines.join('\r\n')}\r\n\r\n`
}

/** A TCP connection to the node, or null when it is refused, fails or takes longer than `timeoutMs`. */
const connectWithin = (node: string, timeoutMs: number): Promise<Socket | null> =>
  new Promise((resolve) => {
    const { hostname, port } = new URL(node)
    const socket = net.connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) || 80 })
    const fail = () => {
      clearTimeout(timer)
      socket.destroy()
      resolve(null)
    }
    const timer = setTimeout(fail, timeoutMs)
    socket.once('error', fail)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.off('error', fail)
      socket.setNoDelay(true)
      resolve(socket)
    })
  })

const badGatewayBody = (message: string) => ({ error: { code: ErrorCode.NodeUnreachable, message } })

const badGateway = (response: ServerResponse, message: string) => sendJson(response, 502, badGatewayBody(message))

/** A 502 written by hand: after an upgrade request the socket is no longer an HTTP response. */
const rawBadGateway = (client: Socket, message: string) => {
  const body = JSON.stringify(badGatewayBody(message))
  client.end(
    `HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  )
}
