import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { WebSocket, WebSocketServer } from 'ws'
import { CollabError, ErrorCode } from '../shared/errors.ts'
import { admit, type Admission, type AdmissionPolicy } from './admission.ts'
import { redactTokenInUrl } from './auth/index.ts'
import { clientAddress } from './clientAddress.ts'
import type { RateLimiter } from './limits/rateLimiter.ts'
import type { Logger } from './logger.ts'
import { Peer } from './peer.ts'
import type { RoomRegistry } from './roomRegistry.ts'
import { refuseUpgrade } from './upgradeRefusal.ts'

export interface UpgradeContext {
  readonly wss: WebSocketServer
  readonly rooms: RoomRegistry
  readonly peers: Set<Peer>
  readonly policy: AdmissionPolicy
  readonly rateLimiter: RateLimiter
  readonly logger: Logger
  readonly accepting: () => boolean
  readonly trustProxy: boolean
  readonly maxPendingUpgrades: number
  readonly maxBufferedBytes: number
  readonly maxViewerAwarenessBytes: number
}

/**
 * The HTTP `upgrade` handler: admits the request (origin, document, token) while it is still plain
 * HTTP, so a refused client gets a status and a JSON reason and no socket; then upgrades and joins
 * the peer to its room.
 */
export const createUpgradeHandler = (context: UpgradeContext) => {
  let pending = 0
  return (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (!context.accepting()) {
      refuseUpgrade(socket, new CollabError(ErrorCode.ShuttingDown, 'server is shutting down'))
      return
    }
    // Verifying a token is async: cap how many requests may wait for it, so junk cannot pile up.
    if (pending >= context.maxPendingUpgrades) {
      refuseUpgrade(socket, new CollabError(ErrorCode.TooManyPendingConnections, 'too many connections being authenticated'))
      return
    }
    pending++
    socket.on('error', () => socket.destroy())
    admit(request, context.policy)
      .then(
        (admission) => {
          if (socket.destroyed) return
          if (!context.accepting()) throw new CollabError(ErrorCode.ShuttingDown, 'server is shutting down')
          context.wss.handleUpgrade(request, socket, head, (ws) => connectPeer(ws, request, admission, context))
        },
        (error: unknown) => {
          if (!(error instanceof CollabError)) throw error
          const url = new URL(request.url ?? '/', 'http://localhost')
          context.logger.info({ url: redactTokenInUrl(url), code: error.code, reason: error.message }, 'refused upgrade')
          refuseUpgrade(socket, error)
        },
      )
      .catch((error: unknown) => {
        context.logger.error({ err: error }, 'upgrade failed')
        if (error instanceof CollabError) refuseUpgrade(socket, error)
        else socket.destroy()
      })
      .finally(() => pending--)
  }
}

const connectPeer = (ws: WebSocket, request: IncomingMessage, admission: Admission, context: UpgradeContext): void => {
  const { identity } = admission
  const peer = new Peer(ws, identity, admission.wantsExtensions, {
    maxBufferedBytes: context.maxBufferedBytes,
    maxAwarenessBytes: identity.role === 'viewer' ? context.maxViewerAwarenessBytes : Infinity,
  })
  context.peers.add(peer)
  const address = clientAddress(request, context.trustProxy)
  const detachLimits = context.rateLimiter.attach(address)
  const room = context.rooms.join(identity.tenant, admission.document, peer)
  // A child logger per connection only when something is logged: most connections never log.
  let peerLogger: Logger | null = null
  const logger = (): Logger => (peerLogger ??= context.logger.child({ peer: peer.id, user: identity.userId, room: room.storageName }))
  if (context.logger.isLevelEnabled('debug')) logger().debug({ role: identity.role }, 'peer joined')

  ws.on('message', (data: Buffer, isBinary: boolean) => {
    peer.bytesIn += data.byteLength
    if (peer.closed) return
    const verdict = context.rateLimiter.spend(address, data.byteLength)
    if (verdict !== 'ok') {
      const code = verdict === 'messages' ? ErrorCode.RateLimitedMessages : ErrorCode.RateLimitedBytes
      logger().warn({ address, code }, 'rate limit exceeded')
      peer.closeWithError(new CollabError(code, `too many ${verdict} per second from ${address}`))
      return
    }
    if (!isBinary && data.byteLength === 0) return
    room.receive(peer, new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
  })
  ws.on('error', (error: Error & { code?: string }) => {
    // ws reports a too-big frame as an error, then closes with 1009 itself.
    logger().info({ err: error.message, code: error.code }, 'socket error')
  })
  ws.on('close', (code: number) => {
    context.peers.delete(peer)
    detachLimits()
    peer.dispose()
    room.leave(peer)
    if (context.logger.isLevelEnabled('debug')) logger().debug({ code }, 'peer left')
  })
}
