import type { IncomingMessage, ServerResponse } from 'node:http'

export interface HealthSource {
  /** True once the store is open and the server listens; false again while shutting down. */
  readonly ready: () => boolean
  readonly stats: () => Record<string, number>
}

const sendJson = (response: ServerResponse, status: number, body: unknown): void => {
  const text = JSON.stringify(body)
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  response.end(text)
}

/**
 * Plain HTTP routes. `/healthz` says the process is alive (for restarts); `/readyz` says it can
 * take connections (for load balancers: false before the store is open and during shutdown).
 */
export const handleHttpRequest = (request: IncomingMessage, response: ServerResponse, health: HealthSource): void => {
  const { pathname } = new URL(request.url ?? '/', 'http://localhost')
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    sendJson(response, 405, { error: { code: 'ERR_METHOD_NOT_ALLOWED', message: `${request.method} is not allowed` } })
    return
  }
  switch (pathname) {
    case '/healthz':
      sendJson(response, 200, { status: 'ok' })
      return
    case '/readyz':
      if (health.ready()) sendJson(response, 200, { status: 'ready', ...health.stats() })
      else sendJson(response, 503, { status: 'not-ready' })
      return
    default:
      sendJson(response, 404, { error: { code: 'ERR_NOT_FOUND', message: `no route ${pathname}` } })
  }
}
