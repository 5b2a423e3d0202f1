import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { parseDocumentName, type DocumentName } from '../shared/documentName.ts'
import { CollabError } from '../shared/errors.ts'
import { EXTENSION_QUERY_PARAM, EXTENSION_VERSION } from '../shared/extensionProtocol.ts'

export interface ConnectionRequest {
  readonly document: DocumentName
  readonly wantsExtensions: boolean
  readonly params: URLSearchParams
}

/**
 * Reads what a WebSocket upgrade asks for: the document from the URL path (`/<type>/<id>`, as the
 * stock WebsocketProvider builds it) and the query parameters. Throws a CollabError that the caller
 * turns into an HTTP refusal *before* the upgrade, so no socket is opened for a bad request.
 */
export const parseConnectionRequest = (request: IncomingMessage): ConnectionRequest => {
  const url = new URL(request.url ?? '/', 'http://localhost')
  let path: string
  try {
    path = decodeURIComponent(url.pathname.replace(/^\/+/, ''))
  } catch {
    path = url.pathname
  }
  const document = parseDocumentName(path)
  return {
    document,
    wantsExtensions: url.searchParams.get(EXTENSION_QUERY_PARAM) === EXTENSION_VERSION,
    params: url.searchParams,
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
}

/** Answers an upgrade request with an HTTP error and a JSON body `{error: {code, message}}`. */
export const refuseUpgrade = (socket: Duplex, status: number, error: CollabError): void => {
  const body = JSON.stringify({ error: { code: error.code, message: error.message } })
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  )
}
