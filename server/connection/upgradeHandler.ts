import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { WebSocket, WebSocketServer } from 'ws'
import { CollabError, ErrorCode, isCollabError } from '../../shared/errors.ts'
import { admit, type Admission, type AdmissionPolicy } from './admission.ts'
import { redactTokenInUrl } from '../auth/index.ts'
import { clientAddress } from './clientAddress.ts'
import type { ConnectionBudget, InboundBudgets } from '../limits/inboundBudget.ts'
import type { ReplyLimits } from '../limits/replyThrottle.ts'
import type { UnauthenticatedSockets } from '../limits/unauthenticatedSockets.ts'
import type { Logger } from '../observability/logger.ts'
import { PauseReason, Peer, peerOfSocket, type PeerLimits } from './peer.ts'
import type { Room } from '../rooms/room.ts'
import type { RoomRegistry } from '../rooms/roomRegistry.ts'
import { refuseUpgrade } from './upgradeRefusal.ts'
import { transportSocket } from '../tls/transportSocket.ts'
import type { ClusterNode, DocumentRoute } from '../cluster/clusterNode.ts'
import { readForwardedUpgrade } from '../cluster/forwarding.ts'
import { HeldFrames, type ClientFrame } from '../cluster/heldFrames.ts'
import { tokenFromRequest } from '../auth/index.ts'
import { CloseCode, formatCloseReason } from '../../shared/closeCodes.ts'
import type { SyncFailureStreaks } from '../observability/syncFailures.ts'
import type { AuditTrail } from '../audit/auditTrail.ts'
import type { Identity } from '../auth/identity.ts'
import { withRefusedIdentity } from '../auth/refusedIdentity.ts'

export interface UpgradeContext {
  readonly wss: WebSocketServer
  readonly rooms: RoomRegistry
  readonly peers: Set<Peer>
  readonly policy: AdmissionPolicy
  readonly inboundBudgets: InboundBudgets
  readonly replyLimits: ReplyLimits
  /** Sockets not yet upgraded with a verified token; an upgraded one stops counting there. */
  readonly unauthenticated: UnauthenticatedSockets
  readonly logger: Logger
  readonly accepting: () => boolean
  readonly trustProxy: boolean
  readonly maxPendingUpgrades: number
  readonly maxBufferedBytes: number
  readonly maxViewerAwarenessBytes: number
  readonly maxAwarenessStateBytes: number
  /** Cluster mode: clients of documents another node owns are forwarded to it; null on one node. */
  readonly cluster: ClusterNode | null
  /** Counts connections that end in a failed sync, and clients that fail several times in a row. */
  readonly syncFailures?: SyncFailureStreaks
  /** The access audit: every admission and refusal here (a forwarded client: by the node it reached). */
  readonly audit: AuditTrail | null
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
    editorLimits: {
      maxBufferedBytes: context.maxBufferedBytes,
      maxAwarenessBytes: Infinity,
      maxAwarenessStateBytes: context.maxAwarenessStateBytes,
      replies: context.replyLimits,
    },
    viewerLimits: {
      maxBufferedBytes: context.maxBufferedBytes,
      maxAwarenessBytes: context.maxViewerAwarenessBytes,
      maxAwarenessStateBytes: context.maxAwarenessStateBytes,
      replies: context.replyLimits,
    },
  }
  // Without a listener ws answers a bad handshake with a bare 400 that nobody records.
  context.wss.on('wsClientError', (error: Error, socket: Duplex, request: IncomingMessage) => refuseHandshake(error, socket, request, context))
  return (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (!context.accepting()) {
      refuseAudited(request, socket, new CollabError(ErrorCode.ShuttingDown, 'server is shutting down'), context)
      return
    }
    // Verifying a token is async: cap how many requests may wait for it, so junk cannot pile up.
    if (pending >= context.maxPendingUpgrades) {
      // Only a flood fills this cap: the audit sums these refusals up instead of a record each.
      context.audit?.refusedInFlood(request, ErrorCode.TooManyPendingConnections)
      refuseUpgrade(socket, new CollabError(ErrorCode.TooManyPendingConnections, 'too many connections being authenticated'))
      return
    }
    pending++
    // A shared listener, not a closure: a closure here would share this call's context and keep the
    // upgrade request (its URL carries the token), its head and its socket alive for the whole connection.
    socket.on('error', destroyOnError)
    admitAndRoute(request, context)
      .then(
        ({ admission, forwardedFrom, route }) => {
          if (socket.destroyed) return
          if (!context.accepting()) throw new CollabError(ErrorCode.ShuttingDown, 'server is shutting down')
          handshaking = admission.identity
          context.wss.handleUpgrade(request, socket, head, (ws) => {
            // The WebSocket handles (and destroys on) its socket's errors from now on.
            socket.off('error', destroyOnError)
            context.unauthenticated.authenticated(transportSocket(socket))
            if (forwardedFrom === null) context.audit?.opened(request, admission.identity, admission.document.name)
            if (route instanceof CollabError) ws.close(CloseCode.DocumentMoved, formatCloseReason(route.code, route.message))
            else if (!route.here) forwardToOwner(ws, request, admission, route.ownerUrl, context)
            else if (context.cluster && !context.rooms.find(admission.identity.tenant, admission.document.name)?.tookDocument) {
              connectOnceTaken(ws, request, admission, connections, forwardedFrom).catch((error: unknown) => {
                context.logger.error({ err: error }, 'connecting a held client failed')
                ws.terminate()
              })
            } else connectPeer(ws, request, admission, connections, forwardedFrom)
          })
          handshaking = null
        },
        (error: unknown) => {
          if (!(error instanceof CollabError)) throw error
          const url = URL.canParse(request.url ?? '/', 'http://localhost') ? redactTokenInUrl(new URL(request.url ?? '/', 'http://localhost')) : '(not a URL)'
          context.logger.info({ url, code: error.code, reason: error.message }, 'refused upgrade')
          refuseAudited(request, socket, error, context)
        },
      )
      .catch((error: unknown) => {
        handshaking = null
        context.logger.error({ err: error }, 'upgrade failed')
        // A refusal after the token verified (the server began shutting down meanwhile): recorded like the others.
        if (error instanceof CollabError) refuseAudited(request, socket, error, context)
        else socket.destroy()
      })
      .finally(() => pending--)
  }
}

/**
 * Admits the request (see admission.ts) and, in cluster mode, finds where its document is served.
 * A request forwarded by another node is checked for that node's signature first and is always
 * served here (the owner never forwards again: no loops). Not finding the owner (Redis down, the
 * owner unreachable) is not a refusal: the client is upgraded and closed with a retryable code.
 */
const admitAndRoute = async (
  request: IncomingMessage,
  context: UpgradeContext,
): Promise<{ admission: Admission; forwardedFrom: { clientAddress: string } | null; route: DocumentRoute | CollabError }> => {
  const { cluster } = context
  const forwarded = cluster ? readForwardedUpgrade(request, cluster.auth) : null
  // The node the client reached records the decision; the owner it forwarded to does not again.
  if (forwarded) forwardedRequests.add(request)
  // Vouched for by a node: counted for the client it carries, not for the node (a failover's burst).
  if (forwarded) context.unauthenticated.vouchedFor(transportSocket(request.socket), forwarded.clientAddress)
  // A forwarded request comes from a node over the node-to-node channel, without the client's
  // certificate: the forwarding node checked it against the token's device (it terminated TLS).
  const admission = await admit(request, forwarded ? { ...context.policy, deviceTrust: false } : context.policy)
  const { tenant } = admission.identity
  if (forwarded && forwarded.tenant !== tenant) throw new CollabError(ErrorCode.BadRequest, 'a forwarded request names another tenant than its token')
  if (!cluster || forwarded) return { admission, forwardedFrom: forwarded, route: { here: true } }
  const room = context.rooms.find(tenant, admission.document.name)
  try {
    return { admission, forwardedFrom: null, route: await cluster.route(`${tenant}/${admission.document.name}`, room !== undefined && room.state !== 'closed') }
  } catch (error) {
    if (!(error instanceof CollabError)) throw error
    context.logger.info({ document: `${tenant}/${admission.document.name}`, code: error.code, reason: error.message }, 'no owner to serve the document now')
    return { admission, forwardedFrom: null, route: error }
  }
}

const forwardToOwner = (ws: WebSocket, request: IncomingMessage, admission: Admission, ownerUrl: string, context: UpgradeContext, sent: ClientFrame[] = []): void => {
  const url = new URL(request.url ?? '/', 'http://localhost')
  context.cluster!.forward(ws, {
    ownerUrl,
    tenant: admission.identity.tenant,
    documentName: admission.document.name,
    token: tokenFromRequest(url, request.headers) ?? '',
    clientAddress: clientAddress(request, context.trustProxy),
    wantsExtensions: admission.wantsExtensions,
    sent,
  })
}

/** Rooms of this node that lost the document, in a row, before a held client is closed to retry instead. */
const MAX_TAKE_ATTEMPTS = 3

/**
 * Cluster mode, a document this node routes here but has no room holding it yet (nobody held its
 * lease, or this node's room is still taking it): the client joins the room only once the room
 * took the lease, its frames held meanwhile. When another node took the document first (clients
 * opening a new document on several nodes at once), the client is routed again and forwarded to
 * that node on this same connection, with the frames it sent, instead of being closed to
 * reconnect. Closed with 4502 as before when the owner cannot be found or reached, or when the
 * request was forwarded here already (never forwarded twice).
 */
const connectOnceTaken = async (
  ws: WebSocket,
  request: IncomingMessage,
  admission: Admission,
  connections: Connections,
  forwardedFrom: { clientAddress: string } | null,
): Promise<void> => {
  const held = new HeldFrames(ws)
  const { tenant } = admission.identity
  const storageName = `${tenant}/${admission.document.name}`
  for (let attempt = 1; attempt <= MAX_TAKE_ATTEMPTS; attempt++) {
    let room: Room
    try {
      room = await connections.rooms.whenTaken(tenant, admission.document)
    } catch (error) {
      const moved = isCollabError(error) && error.code === ErrorCode.DocumentMoved
      if (!moved || forwardedFrom || held.gone || !connections.accepting()) return closeHeld(ws, held, admission, connections, error)
      let route: DocumentRoute
      try {
        route = await connections.cluster!.route(storageName, false)
      } catch (routeError) {
        return closeHeld(ws, held, admission, connections, routeError)
      }
      if (held.gone) return
      if (!connections.accepting()) return closeHeld(ws, held, admission, connections, new CollabError(ErrorCode.ShuttingDown, 'server is shutting down'))
      if (!route.here) {
        forwardToOwner(ws, request, admission, route.ownerUrl, connections, held.release())
        ws.resume()
        return
      }
      continue // the owner already let it go: take it here
    }
    // Lost again before this ran (the lease lapsed at once): a new room takes it, or fails to.
    if (!room.tookDocument) continue
    if (held.gone || !connections.accepting()) {
      connections.rooms.release(room)
      if (!held.gone) closeHeld(ws, held, admission, connections, new CollabError(ErrorCode.ShuttingDown, 'server is shutting down'))
      return
    }
    const sent = held.release()
    connectPeer(ws, request, admission, connections, forwardedFrom)
    ws.resume()
    for (const { data, isBinary } of sent) onMessage.call(ws, data, isBinary)
    return
  }
  closeHeld(ws, held, admission, connections, new CollabError(ErrorCode.DocumentMoved, 'the document kept moving between servers'))
}

/**
 * A held client whose document cannot be served now: closed as a peer of the failed room was, or as
 * the upgrade closes a client whose owner cannot be found (4502 with the error's code: retry).
 */
const closeHeld = (ws: WebSocket, held: HeldFrames, admission: Admission, connections: Connections, error: unknown): void => {
  if (held.gone) return
  const { code, reason } = heldCloseFor(error)
  ws.close(code, reason)
  connections.syncFailures?.connectionEnded(admission.identity, code)
}

const heldCloseFor = (error: unknown): { code: number; reason: string } => {
  if (isCollabError(error)) {
    switch (error.code) {
      case ErrorCode.ShuttingDown:
        return { code: CloseCode.GoingAway, reason: formatCloseReason(error.code, error.message) }
      case ErrorCode.DocumentMoved:
        return { code: CloseCode.DocumentMoved, reason: formatCloseReason(error.code, 'the document is served by another server; reconnect') }
      case ErrorCode.LeaseUnavailable:
      case ErrorCode.OwnerUnreachable:
        return { code: CloseCode.DocumentMoved, reason: formatCloseReason(error.code, error.message) }
    }
  }
  return { code: CloseCode.PersistenceFailed, reason: formatCloseReason(ErrorCode.PersistenceFailed, 'could not load the document') }
}

/** Upgrade requests another node forwarded here (their signature verified): audited by that node. */
const forwardedRequests = new WeakSet<IncomingMessage>()

const refuseAudited = (request: IncomingMessage, socket: Duplex, error: CollabError, context: UpgradeContext): void => {
  if (!forwardedRequests.has(request)) context.audit?.refused(request, error)
  refuseUpgrade(socket, error)
}

/**
 * Who the handshake `ws` is checking belongs to: ws refuses a bad one (wrong method, version, key,
 * extension offer) synchronously inside handleUpgrade, after the token verified, through
 * `wsClientError`, which knows only the request.
 */
let handshaking: Identity | null = null

/** A WebSocket handshake ws refused: answered like every refusal (JSON code) and recorded, under the admitted user. */
const refuseHandshake = (error: Error, socket: Duplex, request: IncomingMessage, context: UpgradeContext): void => {
  const refusal = new CollabError(ErrorCode.BadRequest, `not a valid WebSocket handshake: ${error.message}`)
  refuseAudited(request, socket, handshaking ? withRefusedIdentity(refusal, handshaking) : refusal, context)
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
  readonly budget: ConnectionBudget
  /** Set while reading is paused for the inbound budget: when to look at the debt again. */
  throttleTimer: NodeJS.Timeout | null = null
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
    this.budget = connections.inboundBudgets.attach(identity.tenant, identity.userId)
  }

  get logger(): Logger {
    return (this.ownLogger ??= this.connections.logger.child({ peer: this.id, user: this.identity.userId, room: this.room.storageName }))
  }
}

const connectPeer = (
  ws: WebSocket,
  request: IncomingMessage,
  admission: Admission,
  connections: Connections,
  /** Set when another node forwarded the client: the address it vouches for. */
  forwardedFrom: { clientAddress: string } | null,
): void => {
  const address = forwardedFrom?.clientAddress ?? clientAddress(request, connections.trustProxy)
  const peer = new ConnectedPeer(ws, admission, address, connections)
  connections.peers.add(peer)
  peer.room = connections.rooms.join(peer.identity.tenant, admission.document, peer)
  if (connections.logger.isLevelEnabled('debug')) peer.logger.debug({ role: peer.identity.role }, 'peer joined')
  ws.on('message', onMessage)
  ws.on('error', onError)
  ws.on('close', onClose)
}

/**
 * A debt that takes longer than this to pay off is not a burst but sustained abuse: frames keep
 * arriving faster than a paused socket lets through (many connections of one user, each sending
 * maxPayload frames). Such a connection is closed with a code every stock client retries later.
 * A legitimate burst (an 8 MiB offline sync within the byte burst) never owes this much.
 */
const SUSTAINED_ABUSE_MS = 60_000

function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  const peer = peerOfSocket(this) as ConnectedPeer
  peer.bytesIn += data.byteLength
  peer.messagesIn++
  if (peer.closed) return
  // The frame was already read: it is paid for and handled. Over budget, the socket stops being
  // read (TCP backpressure slows the sender) until the debt is paid; the neighbours behind the
  // same address are not affected, their budgets are their own.
  const waitMs = peer.budget.spend(data.byteLength)
  if (waitMs > SUSTAINED_ABUSE_MS) {
    const code = peer.budget.limitedBy === 'messages' ? ErrorCode.RateLimitedMessages : ErrorCode.RateLimitedBytes
    peer.logger.warn({ address: peer.address, code, waitMs: Math.round(waitMs) }, 'inbound budget overspent; closing')
    peer.connections.audit?.cutOff(peer.identity, peer.address, peer.room.document.name, code)
    peer.closeWithError(new CollabError(code, `too many ${peer.budget.limitedBy} per second; retry later`))
    return
  }
  if (waitMs > 0 && peer.throttleTimer === null) {
    if (peer.connections.logger.isLevelEnabled('debug')) peer.logger.debug({ waitMs: Math.round(waitMs) }, 'over inbound budget; pausing reads')
    peer.pauseReading(PauseReason.InboundBudget)
    peer.throttleTimer = setTimeout(endThrottle, Math.ceil(waitMs), peer).unref()
  }
  if (!isBinary && data.byteLength === 0) return
  peer.room.receive(peer, new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
}

/** Reads again once the debt is paid (frames read while pausing may have added to it). */
const endThrottle = (peer: ConnectedPeer): void => {
  peer.throttleTimer = null
  if (peer.closed) return
  const waitMs = peer.budget.msUntilPaid()
  if (waitMs > 0) peer.throttleTimer = setTimeout(endThrottle, Math.ceil(waitMs), peer).unref()
  else peer.resumeReading(PauseReason.InboundBudget)
}

function onError(this: WebSocket, error: Error & { code?: string }): void {
  // ws reports a too-big frame as an error, then closes with 1009 itself.
  ;(peerOfSocket(this) as ConnectedPeer).logger.info({ err: error.message, code: error.code }, 'socket error')
}

function onClose(this: WebSocket, code: number): void {
  const peer = peerOfSocket(this) as ConnectedPeer
  const { connections } = peer
  connections.peers.delete(peer)
  connections.inboundBudgets.detach(peer.budget)
  if (peer.throttleTimer) clearTimeout(peer.throttleTimer)
  peer.throttleTimer = null
  peer.dispose()
  peer.room.leave(peer)
  // The server closes an open connection with 4401 for one reason only: its token expired (Peer.expireIfDue).
  if (peer.closedWith === CloseCode.Unauthorized) connections.audit?.tokenExpired(peer.identity, peer.address, peer.room.document.name)
  connections.syncFailures?.connectionEnded(peer.identity, peer.closedWith ?? code)
  if (connections.logger.isLevelEnabled('debug')) peer.logger.debug({ code }, 'peer left')
}
