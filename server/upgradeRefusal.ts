import type { Duplex } from 'node:stream'
import type { CollabError } from '../shared/errors.ts'
import { httpStatusFor } from './httpReply.ts'

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
}

/** Answers an upgrade request with an HTTP error and a JSON body `{error: {code, message}}`. */
export const refuseUpgrade = (socket: Duplex, error: CollabError): void => {
  const status = httpStatusFor(error.code)
  const body = JSON.stringify({ error: { code: error.code, message: error.message } })
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  )
}
