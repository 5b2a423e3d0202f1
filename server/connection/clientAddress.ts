import type { IncomingMessage } from 'node:http'

/**
 * The address a connection's limits are keyed on: the socket's remote address, or the first
 * X-Forwarded-For entry when (and only when) the server runs behind a proxy it trusts.
 */
export const clientAddress = (request: IncomingMessage, trustProxy: boolean): string => {
  if (trustProxy) {
    const forwarded = request.headers['x-forwarded-for']
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim()
    if (first) return first
  }
  return request.socket.remoteAddress ?? 'unknown'
}

/** Parses the allow-list option; an empty list allows every origin. */
export const parseAllowedOrigins = (option: string): ReadonlySet<string> =>
  new Set(option.split(',').map((origin) => origin.trim().replace(/\/+$/, '')).filter(Boolean))

/** Browsers always send Origin; clients without one (Node, native shells) are not browsers. */
export const originAllowed = (request: IncomingMessage, allowed: ReadonlySet<string>): boolean => {
  if (allowed.size === 0) return true
  const origin = request.headers.origin
  return origin === undefined || allowed.has(origin)
}
