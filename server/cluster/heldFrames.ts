import type { WebSocket } from 'ws'

/** A frame as a client sent it. */
export interface ClientFrame {
  readonly data: Buffer
  readonly isBinary: boolean
}

/**
 * The frames of an upgraded client while its node decides where it is served (cluster mode: the
 * room taking the document's lease, or, when another node took it first, finding that node). The
 * socket is paused at once, so what is held is only what ws had already read (TCP pushes back on
 * the rest): no frame is handed to a room that may yet fail, and none is lost when the client is
 * forwarded instead.
 */
export class HeldFrames {
  private readonly frames: ClientFrame[] = []

  constructor(private readonly socket: WebSocket) {
    socket.on('message', this.hold)
    // A socket error is reported by ws, then the socket closes: `gone` tells the waiter.
    socket.on('error', ignoreError)
    socket.pause()
  }

  /** The client closed (or the socket failed) meanwhile: nothing to connect. */
  get gone(): boolean {
    return this.socket.readyState !== this.socket.OPEN
  }

  /**
   * Stops holding and returns what was held, in order. The caller attaches its own listeners
   * first, in the same tick (no frame can arrive in between), then resumes the socket.
   */
  release(): ClientFrame[] {
    this.socket.off('message', this.hold)
    this.socket.off('error', ignoreError)
    return this.frames.splice(0)
  }

  private readonly hold = (data: Buffer, isBinary: boolean): void => {
    this.frames.push({ data, isBinary })
  }
}

function ignoreError(): void {}
