import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { AuditTrail } from '../audit/auditTrail.ts'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { httpStatusFor } from '../http/httpReply.ts'
import { hstsLineFor } from '../tls/hsts.ts'

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  408: 'Request Timeout',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  503: 'Service Unavailable',
}

/** Answers an upgrade request with an HTTP error and a JSON body `{error: {code, message}}`. */
export const refuseUpgrade = (socket: Duplex, error: CollabError): void => {
  const status = httpStatusFor(error.code)
  const body = JSON.stringify({ error: { code: error.code, message: error.message } })
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n` +
      'Content-Type: application/json\r\n' +
      hstsLineFor(socket) +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  )
}

/** How long, and how much, the rest of a refused request is read and thrown away before closing. */
const DRAIN_MS = 2_000
const DRAIN_BYTES = 1024 * 1024
const answered = new WeakSet<Duplex>()
const drainedBytes = new WeakMap<Duplex, number>()

/** The typed error for an HTTP parser error or timeout (Node's `clientError`). */
const errorForClientError = (error: Error & { code?: string }): CollabError => {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new CollabError(ErrorCode.HeadersTooLarge, 'request headers too large (a token belongs in one header of ~1 KB)')
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_TLS_HANDSHAKE_TIMEOUT': // a TLS handshake stalled as long as a request head may
      return new CollabError(ErrorCode.RequestTimeout, 'the request was not sent in time')
    default:
      return new CollabError(ErrorCode.BadRequest, `malformed HTTP request (${error.code ?? 'parse error'})`)
  }
}

function discard(this: Duplex, chunk: Buffer): void {
  const drained = (drainedBytes.get(this) ?? 0) + chunk.byteLength
  drainedBytes.set(this, drained)
  if (drained > DRAIN_BYTES) this.destroy()
}

/**
 * Node's `clientError` (a request the parser refused: headers too large, malformed, or not sent
 * within headersTimeout): answers 431/408/400 with the JSON error body instead of Node's bare
 * answer or a reset. Closing a socket with unread data in it makes the kernel send a reset, which
 * can reach the client before the answer (a 100 KB token is still arriving when its first 16 KB
 * are refused); so the rest of the request is read and dropped, bounded in bytes and time.
 */
export const answerClientError = (error: Error & { code?: string }, socket: Duplex, audit: Pick<AuditTrail, 'socketCut'> | null = null): void => {
  if (answered.has(socket)) return
  answered.add(socket)
  if (error.code === 'ECONNRESET' || error.code === 'EPIPE' || !socket.writable) {
    socket.destroy()
    return
  }
  const refusal = errorForClientError(error)
  audit?.socketCut((socket as Partial<Socket>).remoteAddress, refusal.code)
  // The parser has failed: nothing it reads any more means anything.
  socket.removeAllListeners('data')
  socket.on('data', discard)
  socket.resume()
  refuseUpgrade(socket, refusal)
  setTimeout(() => socket.destroy(), DRAIN_MS).unref()
}
