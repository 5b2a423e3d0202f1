import type { IncomingMessage } from 'node:http'
import WebSocket from 'ws'
import { CloseCode, formatCloseReason } from '../../shared/closeCodes.ts'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { EXTENSION_QUERY_PARAM, EXTENSION_VERSION } from '../../shared/extensionProtocol.ts'
import { BEARER_SUBPROTOCOL_PREFIX, COLLAB_SUBPROTOCOL } from '../../shared/tokenTransport.ts'
import type { Logger } from '../observability/logger.ts'
import type { ClusterMetrics } from './clusterMetrics.ts'
import type { ClientFrame } from './heldFrames.ts'
import { NODE_AUTH_HEADER, type NodeAuth } from './nodeAuth.ts'

/** The owner's path for a forwarded client: `/internal/forward/<tenant>/<type>/<id>`. */
export const FORWARD_PATH_PREFIX = '/internal/forward/'
/** The client address the forwarding node vouches for (covered by its signature). */
export const CLIENT_ADDRESS_HEADER = 'x-posalpro-client-address'

export interface ForwardLimits {
  /** Time to open the connection to the owner; past it the client is closed with a retryable code. */
  readonly connectTimeoutMs: number
  /**
   * Bytes sent in one direction and not yet written out to the socket. Past it the other side's
   * socket is not read (TCP pushes back on its sender) until half of it has drained: a slow owner
   * or a slow client cannot make the forwarding node buffer without bound.
   */
  readonly maxBufferedBytes: number
  /** Largest frame accepted from the owner (the owner's own limits apply to the client's frames). */
  readonly maxPayloadBytes: number
  /**
   * Ping interval on both legs: a half-open client connection, or an owner that stopped answering
   * (paused, partitioned: its lease is running out), is dropped within two; the client reconnects
   * and reaches the document's next owner.
   */
  readonly heartbeatIntervalMs: number
}

export interface ForwardRequest {
  /** The owner's advertise URL (`http://host:port`). */
  readonly ownerUrl: string
  readonly tenant: string
  /** `<type>/<id>` */
  readonly documentName: string
  /** The client's token, sent on for the owner to verify itself. */
  readonly token: string
  readonly clientAddress: string
  readonly wantsExtensions: boolean
  /**
   * Frames the client sent before it was forwarded (held while this node tried to take the
   * document itself and another node took it first): sent to the owner first, in order.
   */
  readonly sent?: readonly ClientFrame[]
}

export interface ForwardContext {
  readonly auth: NodeAuth
  readonly limits: ForwardLimits
  readonly metrics: ClusterMetrics
  readonly logger: Logger
  /** Open forwarded connections, closed at shutdown. */
  readonly open: Set<ForwardedConnection>
}

/** Codes a close frame may carry (RFC 6455 §7.4): 1005, 1006 and 1015 are only ever reported. */
const sendable = (code: number): boolean => (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)

/**
 * A client connected to a node that does not own its document, piped to the owner over a
 * node-to-node WebSocket: frames go both ways unchanged (sync, awareness, extension messages),
 * so the client notices nothing but the extra hop. Either side closing closes the other with the
 * same code; the owner going away without a close code (crash, network) closes the client with
 * 4502 so it reconnects, maybe to the document's next owner.
 */
export class ForwardedConnection {
  private readonly owner: WebSocket
  /** Frames the client sent before the owner connection opened. */
  private early: ClientFrame[] | null
  private earlyBytes: number
  private towardOwner = 0
  private towardClient = 0
  private closed = false
  private clientAlive = true
  private ownerAlive = true
  private readonly heartbeat: NodeJS.Timeout

  constructor(
    private readonly client: WebSocket,
    request: ForwardRequest,
    private readonly context: ForwardContext,
  ) {
    this.early = [...(request.sent ?? [])]
    this.earlyBytes = this.early.reduce((bytes, frame) => bytes + frame.data.byteLength, 0)
    const query = request.wantsExtensions ? `?${EXTENSION_QUERY_PARAM}=${EXTENSION_VERSION}` : ''
    const path = `${FORWARD_PATH_PREFIX}${encodeURIComponent(request.tenant)}/${request.documentName}${query}`
    const target = new URL(path, request.ownerUrl)
    target.protocol = target.protocol === 'https:' ? 'wss:' : 'ws:'
    this.owner = new WebSocket(target, [COLLAB_SUBPROTOCOL, `${BEARER_SUBPROTOCOL_PREFIX}${request.token}`], {
      headers: {
        [NODE_AUTH_HEADER]: context.auth.sign('GET', path, request.clientAddress),
        [CLIENT_ADDRESS_HEADER]: request.clientAddress,
      },
      handshakeTimeout: context.limits.connectTimeoutMs,
      maxPayload: context.limits.maxPayloadBytes,
      perMessageDeflate: false,
    })
    context.open.add(this)
    context.metrics.forwardedConnections.inc()
    context.metrics.forwardedOpen.inc()

    client.on('message', (data: Buffer, isBinary: boolean) => this.fromClient(data, isBinary))
    client.on('close', (code: number, reason: Buffer) => this.clientClosed(code, reason.toString('utf8')))
    client.on('error', () => {})
    client.on('pong', () => (this.clientAlive = true))
    this.owner.on('pong', () => (this.ownerAlive = true))
    this.owner.on('open', () => this.ownerOpened())
    this.owner.on('message', (data: Buffer, isBinary: boolean) => this.fromOwner(data, isBinary))
    this.owner.on('close', (code: number, reason: Buffer) => this.ownerClosed(code, reason.toString('utf8')))
    this.owner.on('error', (error: Error) => {
      if (this.owner.readyState !== WebSocket.OPEN) context.logger.info({ owner: request.ownerUrl, err: error.message }, 'owner node unreachable')
    })
    this.heartbeat = setInterval(() => {
      if (!this.clientAlive) return this.finish('owner', 1001, 'the client stopped answering')
      if (!this.ownerAlive) return this.fail('owner-gone', ErrorCode.DocumentMoved, 'the document’s server stopped answering; reconnect')
      this.clientAlive = false
      this.client.ping()
      if (this.owner.readyState !== WebSocket.OPEN) return
      this.ownerAlive = false
      this.owner.ping()
    }, context.limits.heartbeatIntervalMs)
    this.heartbeat.unref()
  }

  /** Server shutdown: both sides closed with 1001 (the client reconnects to another node). */
  close(code: number, reason: string): void {
    this.finish('client', code, reason)
  }

  private fromClient(data: Buffer, isBinary: boolean): void {
    if (this.closed) return
    if (this.early) {
      this.early.push({ data, isBinary })
      this.earlyBytes += data.byteLength
      if (this.earlyBytes > this.context.limits.maxBufferedBytes) this.fail('buffer', ErrorCode.OwnerUnreachable, 'the owner node did not take the connection in time')
      return
    }
    this.relay(this.owner, data, isBinary, 'towardOwner', this.client)
  }

  private fromOwner(data: Buffer, isBinary: boolean): void {
    if (this.closed) return
    this.relay(this.client, data, isBinary, 'towardClient', this.owner)
  }

  /** Sends on, counting what is not yet written out; past the bound, the sending side is not read until half drained. */
  private relay(to: WebSocket, data: Buffer, isBinary: boolean, counter: 'towardOwner' | 'towardClient', from: WebSocket): void {
    const bytes = data.byteLength
    this[counter] += bytes
    this.context.metrics.forwardBufferedBytes.inc(bytes)
    to.send(data, { binary: isBinary }, () => {
      this[counter] -= bytes
      this.context.metrics.forwardBufferedBytes.dec(bytes)
      if (from.isPaused && this[counter] <= this.context.limits.maxBufferedBytes / 2 && !this.closed) from.resume()
    })
    if (this[counter] > this.context.limits.maxBufferedBytes && !from.isPaused) from.pause()
  }

  private ownerOpened(): void {
    if (this.closed) return
    const early = this.early ?? []
    this.early = null
    for (const { data, isBinary } of early) this.relay(this.owner, data, isBinary, 'towardOwner', this.client)
  }

  private clientClosed(code: number, reason: string): void {
    this.finish('owner', sendable(code) ? code : 1000, reason)
  }

  private ownerClosed(code: number, reason: string): void {
    if (this.closed) return
    if (this.early !== null) return this.fail('unreachable', ErrorCode.OwnerUnreachable, 'the document’s server cannot be reached; retry')
    if (!sendable(code)) return this.fail('owner-gone', ErrorCode.DocumentMoved, 'the document’s server went away; reconnect')
    this.finish('client', code, reason)
  }

  private fail(reason: string, code: ErrorCode, message: string): void {
    if (this.closed) return
    this.context.metrics.forwardFailures.inc({ reason })
    this.finish('client', CloseCode.DocumentMoved, formatCloseReason(code, message))
  }

  /** Closes the side that has not closed yet (`side`) with the code, and the other one quietly. */
  private finish(side: 'client' | 'owner', code: number, reason: string): void {
    if (this.closed) return
    this.closed = true
    clearInterval(this.heartbeat)
    this.context.open.delete(this)
    this.context.metrics.forwardedOpen.dec()
    this.early = null
    const closeSide = (socket: WebSocket, withCode: number) => {
      if (socket.readyState === WebSocket.CONNECTING) socket.terminate()
      else if (socket.readyState === WebSocket.OPEN) socket.close(withCode, reason)
    }
    if (side === 'client') {
      closeSide(this.client, code)
      closeSide(this.owner, 1000)
    } else {
      closeSide(this.owner, code)
      closeSide(this.client, code)
    }
  }
}

/**
 * On the owner: a forwarded upgrade (`/internal/forward/<tenant>/<type>/<id>`) checked and turned
 * back into the client's own request: the node's signature verified (ERR_NODE_AUTH_FAILED
 * otherwise), the URL rewritten to `/<type>/<id>` (the client's token travels in the
 * subprotocol, verified by the owner like any other), and the client address the forwarding node
 * vouches for returned. null for any other request.
 */
export const readForwardedUpgrade = (request: IncomingMessage, auth: NodeAuth): { tenant: string; clientAddress: string } | null => {
  const raw = request.url ?? '/'
  if (!raw.startsWith(FORWARD_PATH_PREFIX)) return null
  const header = request.headers[CLIENT_ADDRESS_HEADER]
  const clientAddress = (Array.isArray(header) ? header[0] : header) ?? ''
  auth.verify(request.headers[NODE_AUTH_HEADER], request.method ?? 'GET', raw, clientAddress)
  const rest = raw.slice(FORWARD_PATH_PREFIX.length)
  const slash = rest.indexOf('/')
  if (slash <= 0) throw new CollabError(ErrorCode.BadDocumentName, 'a forwarded request names no tenant')
  let tenant: string
  try {
    tenant = decodeURIComponent(rest.slice(0, slash))
  } catch {
    throw new CollabError(ErrorCode.BadDocumentName, 'a forwarded request names no valid tenant')
  }
  request.url = rest.slice(slash)
  return { tenant, clientAddress: clientAddress || (request.socket.remoteAddress ?? 'unknown') }
}
