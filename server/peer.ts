import type { WebSocket } from 'ws'
import { CloseCode, closeCodeFor, formatCloseReason } from '../shared/closeCodes.ts'
import { ErrorCode, type CollabError } from '../shared/errors.ts'

let nextPeerId = 1

/** Who a connection belongs to. Issue B fills this from the token; until then everyone is anonymous. */
export interface PeerIdentity {
  readonly userId: string
  readonly tenant: string
}

/**
 * One WebSocket connection to one document. Owns the socket: sending, closing with a stable code,
 * and the heartbeat bookkeeping. It knows nothing of documents; the room does.
 */
export class Peer {
  readonly id = nextPeerId++
  readonly connectedAt = Date.now()
  /** Awareness client ids this connection controls, removed from the room when it leaves. */
  readonly awarenessClients = new Set<number>()
  /** Answered the last ping; cleared when a ping is sent. */
  alive = true
  /** Sync-step-2 and update messages received so far; each write carries its sequence number. */
  updatesReceived = 0
  bytesIn = 0
  bytesOut = 0
  closed = false

  constructor(
    private readonly socket: WebSocket,
    readonly identity: PeerIdentity,
    /** Opted in to extension messages (acks, notices) with `?ext=1`. */
    readonly wantsExtensions: boolean,
    /** Unsent bytes above which the peer is closed as a slow reader. */
    private readonly maxBufferedBytes: number = Infinity,
  ) {
    socket.on('pong', () => {
      this.alive = true
    })
  }

  send(message: Uint8Array): void {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return
    this.bytesOut += message.byteLength
    this.socket.send(message, { binary: true })
    if (this.socket.bufferedAmount > this.maxBufferedBytes) {
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
