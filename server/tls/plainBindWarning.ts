import { isIP } from 'node:net'
import type { Logger } from '../observability/logger.ts'

/** Loopback names and addresses: only this machine reaches them. */
export const isLoopbackHost = (host: string): boolean => {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase()
  if (bare === 'localhost' || bare === '::1') return true
  if (isIP(bare) === 4) return bare.startsWith('127.')
  return bare.startsWith('::ffff:127.')
}

/**
 * Tokens travel in every upgrade request (a query parameter or a subprotocol entry): over plain
 * http anyone on the path reads them and becomes that user until they expire. Plain stays the
 * default (loopback, or a proxy that terminates TLS), but a server reachable from the network
 * without TLS says so at start.
 */
export const warnIfPlainOnNetwork = (host: string, tls: boolean, logger: Logger): void => {
  if (tls || isLoopbackHost(host)) return
  logger.warn(
    { host },
    'listening on a non-loopback address without TLS: tokens and documents cross the network in clear text. ' +
      'Set --tls-cert and --tls-key, or make sure a proxy in front terminates TLS.',
  )
}
