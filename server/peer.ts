import type { WebSocket } from 'ws'
import { CloseCode, closeCodeFor, formatCloseReason } from '../shared/closeCodes.ts'
import { CollabError, ErrorCode } from '../shared/errors.ts'
import type { Identity } from './auth/index.ts'

let nextPeerId = 1

export interface PeerLimits {
  /** Unsent bytes above which the peer is closed as a slow reader. */
  readonly maxBufferedBytes: number
  /** Largest awareness update accepted from this peer (small for viewers). */
  readonly maxAwarenessBytes: number
  /** Largest single awareness state (one client's JSON) relayed from this peer; larger ones are refused. */
  readonly maxAwarenessStateBytes: number
}

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
  bytesOut = 0
  closed = false

  /** Told once per connection that it is read-only, not at every keystroke. */
  toldReadOnly = false

  constructor(
    private readonly socket: WebSocket,
    /** Who this connection belongs to, from its verified token. */
    readonly identity: Identity,
    /** Opted in to extension messages (acks, notices) with `?ext=1`. */
    readonly wantsExtensions: boolean,
    readonly limits: PeerLimits = { maxBufferedBytes: Infinity, maxAwarenessBytes: Infinity, maxAwarenessStateBytes: Infinity },
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
  }

  send(message: Uint8Array): void {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return
    this.bytesOut += message.byteLength
    this.socket.send(message, { binary: true })
    if (this.socket.bufferedAmount > this.limits.maxBufferedBytes) {
      // Drop what is queued for it: terminate, not a close handshake that would wait behind the backlog.
      this.closed = true
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
    this.socket.close(code, reason)
    // A peer that never answers the close handshake must not hold the socket open.
    setTimeout(() => this.socket.terminate(), 2_000).unref()
  }

  /** Stops reading frames from the socket (backpressure); the kernel then pushes back on the sender. */
  pauseReading(): void {
    this.socket.pause()
  }

  resumeReading(): void {
    this.socket.resume()
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
