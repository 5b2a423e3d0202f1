import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { WebSocket, WebSocketServer } from 'ws'
import { CollabError, ErrorCode } from '../shared/errors.ts'
import { admit, type Admission, type AdmissionPolicy } from './admission.ts'
import { redactTokenInUrl } from './auth/index.ts'
import { clientAddress } from './clientAddress.ts'
import type { RateLimiter } from './limits/rateLimiter.ts'
import type { Logger } from './logger.ts'
import { Peer, peerOfSocket, type PeerLimits } from './peer.ts'
import type { Room } from './room.ts'
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
  readonly maxAwarenessStateBytes: number
}

/**
 * The HTTP `upgrade` handler: admits the request (origin, document, token) while it is still plain
 * HTTP, so a refused client gets a status and a JSON reason and no socket; then upgrades and joins
 * the peer to its room.
 */
export const createUpgradeHandler = (context: UpgradeContext) => {
  let pending = 0
  const connections: Connections = {
    ...context,
    editorLimits: { maxBufferedBytes: context.maxBufferedBytes, maxAwarenessBytes: Infinity, maxAwarenessStateBytes: context.maxAwarenessStateBytes },
    viewerLimits: {
      maxBufferedBytes: context.maxBufferedBytes,
      maxAwarenessBytes: context.maxViewerAwarenessBytes,
      maxAwarenessStateBytes: context.maxAwarenessStateBytes,
    },
  }
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
    // A shared listener, not a closure: a closure here would share this call's context and keep the
    // upgrade request (its URL carries the token), its head and its socket alive for the whole connection.
    socket.on('error', destroyOnError)
    admit(request, context.policy)
      .then(
        (admission) => {
          if (socket.destroyed) return
          if (!context.accepting()) throw new CollabError(ErrorCode.ShuttingDown, 'server is shutting down')
          context.wss.handleUpgrade(request, socket, head, (ws) => {
            // The WebSocket handles (and destroys on) its socket's errors from now on.
            socket.off('error', destroyOnError)
            connectPeer(ws, request, admission, connections)
          })
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

function destroyOnError(this: Duplex): void {
  this.destroy()
}

/** The upgrade context with what every connection shares (its limits, one object per role). */
interface Connections extends UpgradeContext {
  readonly editorLimits: PeerLimits
  readonly viewerLimits: PeerLimits
}

/**
 * A peer as the upgrade handler connects it: with its room, address and the shared context, so the
 * socket's listeners can be shared functions (found through the socket) instead of closures per
 * connection.
 */
class ConnectedPeer extends Peer {
  room!: Room
  /** A child logger per connection only when something is logged: most connections never log. */
  private ownLogger: Logger | null = null

  constructor(
    socket: WebSocket,
    admission: Admission,
    readonly address: string,
    readonly connections: Connections,
  ) {
    const { identity } = admission
    super(socket, identity, admission.wantsExtensions, identity.role === 'viewer' ? connections.viewerLimits : connections.editorLimits)
  }

  get logger(): Logger {
    return (this.ownLogger ??= this.connections.logger.child({ peer: this.id, user: this.identity.userId, room: this.room.storageName }))
  }
}

const connectPeer = (ws: WebSocket, request: IncomingMessage, admission: Admission, connections: Connections): void => {
  const peer = new ConnectedPeer(ws, admission, clientAddress(request, connections.trustProxy), connections)
  connections.peers.add(peer)
  connections.rateLimiter.attach(peer.address)
  peer.room = connections.rooms.join(peer.identity.tenant, admission.document, peer)
  if (connections.logger.isLevelEnabled('debug')) peer.logger.debug({ role: peer.identity.role }, 'peer joined')
  ws.on('message', onMessage)
  ws.on('error', onError)
  ws.on('close', onClose)
}

function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  const peer = peerOfSocket(this) as ConnectedPeer
  peer.bytesIn += data.byteLength
  if (peer.closed) return
  const { rateLimiter } = peer.connections
  const verdict = rateLimiter.spend(peer.address, data.byteLength)
  if (verdict !== 'ok') {
    const code = verdict === 'messages' ? ErrorCode.RateLimitedMessages : ErrorCode.RateLimitedBytes
    peer.logger.warn({ address: peer.address, code }, 'rate limit exceeded')
    peer.closeWithError(new CollabError(code, `too many ${verdict} per second from ${peer.address}`))
    return
  }
  if (!isBinary && data.byteLength === 0) return
  peer.room.receive(peer, new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
}

function onError(this: WebSocket, error: Error & { code?: string }): void {
  // ws reports a too-big frame as an error, then closes with 1009 itself.
  ;(peerOfSocket(this) as ConnectedPeer).logger.info({ err: error.message, code: error.code }, 'socket error')
}

function onClose(this: WebSocket, code: number): void {
  const peer = peerOfSocket(this) as ConnectedPeer
  const { connections } = peer
  connections.peers.delete(peer)
  connections.rateLimiter.detach(peer.address)
  peer.dispose()
  peer.room.leave(peer)
  if (connections.logger.isLevelEnabled('debug')) peer.logger.debug({ code }, 'peer left')
}
