import type { IncomingMessage } from 'node:http'
import { CollabError, ErrorCode } from '../../shared/errors.ts'

/**
 * The request's target as a URL. Node's parser lets through targets WHATWG URL refuses (the
 * absolute form `GET http://[ HTTP/1.1`); `new URL` then throws a TypeError, which in a request
 * listener is an uncaught exception: one request line would end the process. Throws
 * ERR_BAD_REQUEST (400) instead.
 */
export const requestUrl = (request: IncomingMessage): URL => {
  try {
    return new URL(request.url ?? '/', 'http://localhost')
  } catch {
    throw new CollabError(ErrorCode.BadRequest, 'the request target is not a valid URL')
  }
}
