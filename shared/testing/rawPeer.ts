import WebSocket from 'ws'
import * as decoding from 'lib0/decoding'
import { parseCloseReason } from '../closeCodes.ts'

export interface CloseInfo {
  readonly code: number
  readonly reason: string
  /** The ERR_* code at the start of the reason, if any. */
  readonly errorCode: string | null
}

export interface RawPeer {
  readonly socket: WebSocket
  /** Every binary frame received, in order. */
  readonly received: Uint8Array[]
  /** Resolves when the socket closes. */
  readonly closed: Promise<CloseInfo>
  send(frame: Uint8Array): void
  /** The received frames whose first varUint (message type) is `type`. */
  messagesOfType(type: number): Uint8Array[]
  close(): void
}

/**
 * A bare WebSocket speaking bytes, for attack tests: frames are built byte by byte with lib0
 * encoding and sent as they are. Resolves once the socket is open; rejects with the HTTP status
 * when the upgrade is refused.
 */
export const connectRawPeer = (url: string, options: WebSocket.ClientOptions = {}): Promise<RawPeer> =>
  new Promise((resolve, reject) => {
    const socket = new WebSocket(url, options)
    socket.binaryType = 'nodebuffer'
    const received: Uint8Array[] = []
    socket.on('message', (data: Buffer) => received.push(new Uint8Array(data)))
    const closed = new Promise<CloseInfo>((resolveClose) =>
      socket.on('close', (code: number, reasonBuffer: Buffer) => {
        const reason = reasonBuffer.toString('utf8')
        resolveClose({ code, reason, errorCode: parseCloseReason(reason).code })
      }),
    )
    socket.on('unexpected-response', (_request, response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
      response.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${response.statusCode}`), { status: response.statusCode, body })))
    })
    socket.on('error', (error) => reject(error))
    socket.on('open', () =>
      resolve({
        socket,
        received,
        closed,
        send: (frame) => socket.send(frame),
        messagesOfType: (type) => received.filter((frame) => decoding.readVarUint(decoding.createDecoder(frame)) === type),
        close: () => socket.close(),
      }),
    )
  })
