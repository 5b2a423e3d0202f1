import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import { CloseCode, formatCloseReason } from '../shared/closeCodes.ts'
import { CollabError, ErrorCode } from '../shared/errors.ts'
import type { ServerConfig } from './config.ts'
import { handleHttpRequest } from './httpRoutes.ts'
import type { Logger } from './logger.ts'
import { Peer, type PeerIdentity } from './peer.ts'
import { DocumentStore } from './persistence/documentStore.ts'
import { RoomRegistry } from './roomRegistry.ts'
import { clientAddress, originAllowed, parseAllowedOrigins } from './clientAddress.ts'
import { RateLimiter } from './limits/rateLimiter.ts'
import { parseConnectionRequest, refuseUpgrade } from './upgradeRequest.ts'

/** Until identity (issue B) lands, every connection is an anonymous user of one tenant. */
const ANONYMOUS: PeerIdentity = { userId: 'anonymous', tenant: 'default' }

export interface CollabServer {
  readonly config: ServerConfig
  readonly store: DocumentStore
  readonly rooms: RoomRegistry
  /** The bound port (useful with port 0). */
  readonly port: number
  readonly peers: ReadonlySet<Peer>
  /** Stops accepting, makes every pending write durable, closes peers (1001) and the store. */
  close(): Promise<void>
}

/**
 * Starts the HTTP + WebSocket server: opens the store, then listens. Resolves once connections
 * are accepted. Throws ERR_PERSISTENCE_FAILED when the data directory cannot be opened (e.g. it
 * is locked by another server).
 */
export const startCollabServer = async (config: ServerConfig, logger: Logger): Promise<CollabServer> => {
  const store = await DocumentStore.open(config.dataDir)
  const rooms = new RoomRegistry({
    store,
    logger,
    roomUnloadGraceMs: config.roomUnloadGraceMs,
    compactAfterUpdates: config.compactAfterUpdates,
    maxPendingWrites: config.maxPendingWrites,
  })
  const peers = new Set<Peer>()
  let accepting = true

  const httpServer = http.createServer((request, response) =>
    handleHttpRequest(request, response, {
      ready: () => accepting,
      stats: () => ({ connections: peers.size, rooms: rooms.size }),
    }),
  )
  // ws checks maxPayload while reading a frame and closes with 1009 before buffering it whole.
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.maxPayloadBytes })

  const allowedOrigins = parseAllowedOrigins(config.allowedOrigins)
  const rateLimiter = new RateLimiter({
    messagesPerSecond: config.rateMessagesPerSecond,
    messageBurst: config.rateMessageBurst,
    bytesPerSecond: config.rateBytesPerSecond,
    byteBurst: config.rateByteBurst,
  })

  httpServer.on('upgrade', (request, socket, head) => {
    if (!accepting) {
      refuseUpgrade(socket, 503, new CollabError(ErrorCode.ShuttingDown, 'server is shutting down'))
      return
    }
    if (!originAllowed(request, allowedOrigins)) {
      refuseUpgrade(socket, 403, new CollabError(ErrorCode.OriginNotAllowed, `origin ${request.headers.origin} is not allowed`))
      return
    }
    let connection
    try {
      connection = parseConnectionRequest(request)
    } catch (error) {
      if (!(error instanceof CollabError)) throw error
      logger.info({ url: request.url, code: error.code }, 'refused upgrade')
      refuseUpgrade(socket, 400, error)
      return
    }
    wss.handleUpgrade(request, socket, head, (ws: WebSocket) => {
      const peer = new Peer(ws, ANONYMOUS, connection.wantsExtensions, config.maxBufferedBytes)
      peers.add(peer)
      const address = clientAddress(request, config.trustProxy)
      const detachLimits = rateLimiter.attach(address)
      const room = rooms.join(peer.identity.tenant, connection.document, peer)
      logger.debug({ peer: peer.id, room: room.storageName }, 'peer joined')
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        peer.bytesIn += data.byteLength
        if (peer.closed) return
        const verdict = rateLimiter.spend(address, data.byteLength)
        if (verdict !== 'ok') {
          const code = verdict === 'messages' ? ErrorCode.RateLimitedMessages : ErrorCode.RateLimitedBytes
          logger.warn({ peer: peer.id, address, code }, 'rate limit exceeded')
          peer.closeWithError(new CollabError(code, `too many ${verdict} per second from ${address}`))
          return
        }
        if (!isBinary && data.byteLength === 0) return
        room.receive(peer, new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
      })
      ws.on('error', (error: Error & { code?: string }) => {
        // ws reports a too-big frame as an error, then closes with 1009 itself.
        logger.info({ peer: peer.id, err: error.message, code: error.code }, 'socket error')
      })
      ws.on('close', (code: number) => {
        peers.delete(peer)
        detachLimits()
        peer.closed = true
        room.leave(peer)
        logger.debug({ peer: peer.id, code }, 'peer left')
      })
    })
  })

  // Heartbeat: a peer that did not answer the previous ping is terminated at the next tick.
  const heartbeat = setInterval(() => {
    for (const peer of peers) peer.heartbeat()
  }, config.heartbeatIntervalMs)
  heartbeat.unref()

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject)
    httpServer.listen(config.port, config.host, () => {
      httpServer.off('error', reject)
      resolve()
    })
  })
  const { port } = httpServer.address() as AddressInfo
  logger.info({ host: config.host, port, dataDir: config.dataDir }, 'listening')

  let closing: Promise<void> | null = null
  const close = (): Promise<void> => {
    closing ??= (async () => {
      accepting = false
      clearInterval(heartbeat)
      httpServer.close()
      await rooms.closeAll(CloseCode.GoingAway, formatCloseReason(ErrorCode.ShuttingDown, 'server is shutting down'))
      for (const peer of peers) peer.close(CloseCode.GoingAway)
      wss.close()
      httpServer.closeAllConnections()
      await store.close()
      logger.info('stopped')
    })()
    return closing
  }

  return { config, store, rooms, peers, close, get port() { return port } }
}
