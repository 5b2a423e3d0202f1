import http from 'node:http'
import https from 'node:https'
import { ErrorCode, isCollabError } from '../../shared/errors.ts'
import { sendError } from '../http/httpReply.ts'
import type { Logger } from '../observability/logger.ts'
import type { AuditTrail } from '../audit/auditTrail.ts'
import { certifiedDevice } from './deviceTrust.ts'
import { HSTS_HEADER, HSTS_VALUE } from './hsts.ts'
import { loadTlsSettings, type TlsFiles, type TlsSettings } from './tlsSettings.ts'

/**
 * Routes that answer without a client certificate under device trust: liveness and readiness
 * probes come from the orchestrator, which has no device certificate, and tell nothing about data.
 */
const PROBE_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz'])

export interface WebServer {
  readonly server: http.Server
  /** The settings in use (null for plain http). */
  readonly tls: TlsSettings | null
  /**
   * Re-reads the certificate, key, client CA and CRL and serves new connections with them;
   * established connections keep theirs. A file that cannot be used keeps the old settings and
   * logs an error. Resolves true when the new settings are in use.
   */
  reload(): Promise<boolean>
}

/**
 * The HTTP server every route and the WebSocket upgrade go through: plain http, or https with the
 * settings `loadTlsSettings` read from `files` (then wss on the same port; `files` are read again
 * at each reload).
 */
export const createWebServer = (
  settings: TlsSettings | null,
  files: TlsFiles,
  logger: Logger,
  httpOptions: http.ServerOptions,
  handler: (request: http.IncomingMessage, response: http.ServerResponse) => void,
  /** Where a request refused before any route is recorded (the access audit). */
  audit: Pick<AuditTrail, 'refusedRequest' | 'socketCut'> | null = null,
): WebServer => {
  let tls = settings
  if (!tls) {
    return {
      server: http.createServer(httpOptions, handler),
      tls: null,
      reload: async () => {
        logger.info('no TLS configured: nothing to reload')
        return false
      },
    }
  }
  const deviceTrust = tls.deviceTrust
  const onRequest = (request: http.IncomingMessage, response: http.ServerResponse): void => {
    response.setHeader(HSTS_HEADER, HSTS_VALUE)
    // The path as sent (no URL parsing here: the routes answer a target that is not a URL).
    if (deviceTrust && !PROBE_PATHS.has((request.url ?? '/').split('?')[0]!)) {
      try {
        certifiedDevice(request.socket)
      } catch (error) {
        if (!isCollabError(error)) throw error
        audit?.refusedRequest(request, error)
        sendError(response, error)
        return
      }
    }
    handler(request, response)
  }
  const server = https.createServer(
    {
      ...httpOptions,
      ...tls.secureContext,
      // Ask for a certificate but finish the handshake without one: the refusal is then an HTTP
      // answer with a code (deviceTrust.ts), not a bare TLS alert the client cannot explain.
      requestCert: deviceTrust,
      rejectUnauthorized: false,
      // A handshake that stalls holds a descriptor like a stalled request head does.
      handshakeTimeout: httpOptions.headersTimeout ?? 10_000,
    },
    onRequest,
  )
  // A failed handshake (an old TLS version, a client that does not trust the certificate, a
  // scanner) never reaches HTTP; debug, because scanners make many.
  server.on('tlsClientError', (error: Error & { code?: string }, socket) => {
    if (logger.isLevelEnabled('debug')) logger.debug({ code: error.code, reason: error.message, address: socket.remoteAddress }, 'TLS handshake failed')
    // A stalled handshake is cut as a request head would be (clientError records it); a client that left refused nothing.
    if (error.code !== 'ERR_TLS_HANDSHAKE_TIMEOUT' && error.code !== 'ECONNRESET') audit?.socketCut(socket.remoteAddress, ErrorCode.TlsHandshakeFailed)
  })
  logger.info({ tls: { ...tls.certificate, minVersion: tls.secureContext.minVersion, deviceTrust } }, 'TLS enabled')

  const reloadOnce = async (): Promise<boolean> => {
    try {
      const next = await loadTlsSettings(files)
      if (!next) return false
      server.setSecureContext(next.secureContext)
      tls = next
      logger.info({ tls: next.certificate }, 'TLS certificate reloaded')
      return true
    } catch (error) {
      logger.error({ err: isCollabError(error) ? error.message : error, code: isCollabError(error) ? error.code : undefined }, 'TLS reload failed; keeping the current certificate')
      return false
    }
  }
  // One reload at a time, in order: two SIGHUPs in a row must end with the files as they are last.
  let reloading: Promise<boolean> = Promise.resolve(false)
  return {
    server,
    get tls() {
      return tls
    },
    reload: () => (reloading = reloading.then(reloadOnce)),
  }
}
