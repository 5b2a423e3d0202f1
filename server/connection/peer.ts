import type { WebSocket } from 'ws'
import { CloseCode, closeCodeFor, formatCloseReason } from '../../shared/closeCodes.ts'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import type { Identity } from '../auth/index.ts'
import { ReplyThrottle, type ReplyKind, type ReplyLimits } from '../limits/replyThrottle.ts'

let nextPeerId = 1

export interface PeerLimits {
  /** Unsent bytes above which the peer is closed as a slow reader. */
  readonly maxBufferedBytes: number
  /** Largest awareness update accepted from this peer (small for viewers). */
  readonly maxAwarenessBytes: number
  /** Largest single awareness state (one client's JSON) relayed from this peer; larger ones are refused. */
  readonly maxAwarenessStateBytes: number
  /** What this peer's own requests (sync step 1, query-awareness) may make the server send it. */
  readonly replies: ReplyLimits
}

/**
 * Why reading from a peer's socket is paused. Each reason pauses and resumes on its own: the
 * socket reads again only when no reason holds it, so the write queue catching up cannot resume a
 * peer that is over its inbound budget, nor the other way round.
 */
export const PauseReason = {
  /** The room's write queue is full (the room's backpressure). */
  WriteQueue: 1,
  /** The peer (or its user) spent its inbound budget; it reads again once the debt is paid. */
  InboundBudget: 2,
} as const
export type PauseReason = (typeof PauseReason)[keyof typeof PauseReason]

const UNLIMITED_REPLIES: ReplyLimits = { bytes: { perSecond: Infinity, burst: Infinity }, awarenessQueryIntervalMs: 0 }

/**
 * The peer of each socket, for listeners shared by all connections (a closure and its context per
 * connection and event would cost more than one weak entry).
 */
const peerBySocket = new WeakMap<WebSocket, Peer>()

/** The peer a socket belongs to (inside a socket listener, `this` is the socket). */
export const peerOfSocket = (socket: WebSocket): Peer | undefined => peerBySocket.get(socket)

function onPong(this: WebSocket): void {
  const peer = peerBySocket.get(this)
  if (peer) peer.alive = true
}

/**
 * One WebSocket connection to one document. Owns the socket: sending, closing with a stable code,
 * and the heartbeat bookkeeping. It knows nothing of documents; the room does.
 */
export class Peer {
  readonly id = nextPeerId++
  readonly connectedAt = Date.now()
  /** Answered the last ping; cleared when a ping is sent. */
  alive = true
  /** Sync-step-2 and update messages received so far; each write carries its sequence number. */
  updatesReceived = 0
  bytesIn = 0
  /** Frames read from the socket (every message type). */
  messagesIn = 0
  bytesOut = 0
  closed = false
  /** The close code the server sent, when the server closed it (what the sync-failure metrics count, not the peer's echo). */
  closedWith: number | null = null
  /** The PauseReason bits holding the socket paused; 0 while it reads. */
  private pausedFor = 0
  /** Made at the first request that needs a reply (most connections ask once, at connect). */
  private replyThrottle: ReplyThrottle | null = null

  /** Told once per connection that it is read-only, not at every keystroke. */
  toldReadOnly = false

  constructor(
    private readonly socket: WebSocket,
    /** Who this connection belongs to, from its verified token. */
    readonly identity: Identity,
    /** Opted in to extension messages (acks, notices) with `?ext=1`. */
    readonly wantsExtensions: boolean,
    readonly limits: PeerLimits = { maxBufferedBytes: Infinity, maxAwarenessBytes: Infinity, maxAwarenessStateBytes: Infinity, replies: UNLIMITED_REPLIES },
  ) {
    peerBySocket.set(socket, this)
    socket.on('pong', onPong)
    this.expireIfDue(Date.now())
  }

  /**
   * A token is valid until its `exp`; the connection lives no longer (4401, then getToken on
   * reconnect). Checked when the peer is made and then by the server's expiry sweep (one timer for
   * all peers instead of one per peer; see collabServer.ts for its granularity).
   */
  expireIfDue(now: number): void {
    if (this.closed || this.identity.expiresAt > now) return
    this.closeWithError(new CollabError(ErrorCode.TokenExpired, 'your token expired; reconnect with a new one'))
  }

  /** The socket closed. */
  dispose(): void {
    this.closed = true
    this.replyThrottle?.dispose()
  }

  /**
   * Answers one of this peer's requests now or once its reply budget allows (see ReplyThrottle):
   * `make` builds the reply when it is sent.
   */
  reply(kind: ReplyKind, make: () => Uint8Array): void {
    this.replyThrottle ??= new ReplyThrottle(this.limits.replies)
    this.replyThrottle.request(kind, () => {
      if (this.closed) return 0
      let message: Uint8Array
      try {
        message = make()
      } catch (error) {
        // Possibly in a timer: a reply that cannot be made closes this peer, never the process.
        this.closeWithError(new CollabError(ErrorCode.MalformedMessage, `cannot answer: ${(error as Error).message}`))
        return 0
      }
      this.send(message)
      return message.byteLength
    })
  }

  send(message: Uint8Array): void {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return
    this.bytesOut += message.byteLength
    this.socket.send(message, { binary: true })
    if (this.socket.bufferedAmount > this.limits.maxBufferedBytes) {
      // Drop what is queued for it: terminate, not a close handshake that would wait behind the backlog.
      this.closed = true
      this.closedWith = CloseCode.SlowReader
      this.socket.close(CloseCode.SlowReader, formatCloseReason(ErrorCode.SlowReader, 'you read slower than the document changes'))
      this.socket.terminate()
    }
  }

  /** Sends an extension message only to a peer that asked for them; stock clients never see one. */
  sendExtension(message: Uint8Array): void {
    if (this.wantsExtensions) this.send(message)
  }

  /** Closes with the close code and `<ERROR_CODE>: message` reason of a typed error. */
  closeWithError(error: CollabError): void {
    this.close(closeCodeFor(error.code), formatCloseReason(error.code, error.message))
  }

  close(code: number = CloseCode.GoingAway, reason = ''): void {
    if (this.closed) return
    this.closed = true
    this.closedWith = code
    this.socket.close(code, reason)
    // A peer that never answers the close handshake must not hold the socket open.
    setTimeout(() => this.socket.terminate(), 2_000).unref()
  }

  /**
   * Stops reading frames from the socket (backpressure); the kernel then pushes back on the
   * sender. Frames ws has already read are still delivered.
   */
  pauseReading(reason: PauseReason = PauseReason.WriteQueue): void {
    if (this.pausedFor === 0) this.socket.pause()
    this.pausedFor |= reason
  }

  /** Lifts one reason to pause; reading resumes when none is left. */
  resumeReading(reason: PauseReason = PauseReason.WriteQueue): void {
    if ((this.pausedFor & reason) === 0) return
    this.pausedFor &= ~reason
    if (this.pausedFor === 0) this.socket.resume()
  }

  /** Whether reading is paused for `reason`. */
  pausedBy(reason: PauseReason): boolean {
    return (this.pausedFor & reason) !== 0
  }

  /** Called by the heartbeat every interval: terminate when the last ping went unanswered. */
  heartbeat(): void {
    if (!this.alive) {
      this.closed = true
      this.socket.terminate()
      return
    }
    this.alive = false
    this.socket.ping()
  }
}
