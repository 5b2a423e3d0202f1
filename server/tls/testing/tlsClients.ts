import https from 'node:https'
import type { IncomingHttpHeaders } from 'node:http'
import type { SecureVersion } from 'node:tls'
import WebSocket from 'ws'
import { issueDevToken, loadOrCreateDevSecret, type DevTokenOptions } from '../../auth/index.ts'
import { DEFAULT_TEST_USER } from '../../../shared/testing/devTokens.ts'

/** What a TLS client brings: the CA it trusts, its own certificate (device trust), its versions. */
export interface ClientTls {
  readonly ca: string
  readonly cert?: string
  readonly key?: string
  readonly maxVersion?: SecureVersion
}

/**
 * A `ws` WebSocket class that connects with these TLS options, for y-websocket's
 * `WebSocketPolyfill` (it calls `new WebSocketPolyfill(url, protocols)` and nothing else).
 */
export const tlsWebSocketClass = (tls: ClientTls): typeof WebSocket =>
  class TlsWebSocket extends WebSocket {
    constructor(address: string | URL | null, protocols?: string | string[] | WebSocket.ClientOptions) {
      super(address as string | URL, protocols as string | string[] | undefined, { ...tls })
    }
  } as typeof WebSocket

export interface HttpsAnswer {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: string
  /** The server certificate the connection saw. */
  readonly serverCert: { readonly serialNumber: string; readonly fingerprint256: string }
}

/** One https GET with its own connection (no agent: every call does a full handshake). */
export const httpsGet = (url: string, tls: ClientTls, headers: Record<string, string> = {}): Promise<HttpsAnswer> =>
  new Promise((resolve, reject) => {
    const request = https.get(url, { ...tls, agent: false, headers }, (response) => {
      const peer = (response.socket as import('node:tls').TLSSocket).getPeerCertificate()
      let body = ''
      response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body, serverCert: { serialNumber: peer.serialNumber, fingerprint256: peer.fingerprint256 } }),
      )
    })
    request.on('error', reject)
  })

/**
 * A dev-mode token signed with the data directory's dev secret, as `GET /dev/token` would hand
 * out (fetch cannot trust a test CA without a custom dispatcher, so tests over TLS sign directly).
 */
export const devTokenFor = async (dataDir: string, options: Partial<DevTokenOptions> = {}): Promise<string> => {
  const { secret } = await loadOrCreateDevSecret(dataDir)
  return (await issueDevToken(secret, { ...DEFAULT_TEST_USER, ...options })).token
}
