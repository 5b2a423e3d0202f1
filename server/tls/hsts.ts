import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { TLSSocket } from 'node:tls'

/**
 * HSTS: a browser that once reached the server over https refuses plain http to it for a year, so
 * a network attacker cannot downgrade a later visit (sslstrip). Only sent over TLS (RFC 6797 has
 * browsers ignore it on plain http anyway).
 */
export const HSTS_HEADER = 'Strict-Transport-Security'
export const HSTS_VALUE = 'max-age=31536000'

/** Adds HSTS to the 101 answer of a WebSocket upgrade over TLS (ws's `headers` event). */
export const addHstsToUpgrade = (headers: string[], request: IncomingMessage): void => {
  if ((request.socket as Partial<TLSSocket>).encrypted) headers.push(`${HSTS_HEADER}: ${HSTS_VALUE}`)
}

/** The HSTS header line for a raw HTTP answer written on `socket` (an upgrade refusal), when it is TLS. */
export const hstsLineFor = (socket: Duplex): string =>
  (socket as Partial<TLSSocket>).encrypted ? `${HSTS_HEADER}: ${HSTS_VALUE}\r\n` : ''

