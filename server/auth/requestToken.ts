import type { IncomingHttpHeaders } from 'node:http'
import { BEARER_SUBPROTOCOL_PREFIX, COLLAB_SUBPROTOCOL } from '../../shared/tokenTransport.ts'
import { AuthError, AuthErrorCode } from './authError.ts'
import type { Identity } from './identity.ts'
import type { TokenVerifier } from './tokenVerifier.ts'

/**
 * Where a WebSocket client puts its token. Two ways, because clients differ:
 *
 * 1. Query parameter `token` — what a stock y-websocket client sends with `params: { token }`:
 *    `ws://host/proposal/p1?token=<jwt>`.
 * 2. `Sec-WebSocket-Protocol: posalpro-collab, bearer.<jwt>` — what the project's client
 *    (`openDocument`) sends, keeping the token out of URLs (shared/tokenTransport.ts). The server
 *    must answer with `Sec-WebSocket-Protocol: posalpro-collab` (see `selectSubprotocol`):
 *    browsers and `ws` fail a handshake whose answer names no offered protocol, and echoing the
 *    `bearer.` entry would copy the token into the response.
 *
 * If both carry a token they must be the same token.
 */
export const TOKEN_QUERY_PARAM = 'token'
export { BEARER_SUBPROTOCOL_PREFIX, COLLAB_SUBPROTOCOL }

const headerValues = (value: string | string[] | undefined): string[] =>
  (Array.isArray(value) ? value : value === undefined ? [] : [value])
    .flatMap((entry) => entry.split(','))
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')

/** The subprotocols a request offers, in order. */
export const offeredSubprotocols = (headers: IncomingHttpHeaders): string[] =>
  headerValues(headers['sec-websocket-protocol'])

/**
 * The token of an upgrade request, or null when there is none (the caller then refuses with
 * ERR_TOKEN_MISSING, e.g. by calling `verify('')`). Throws ERR_TOKEN_INVALID when the request
 * carries two different tokens: which one would be meant is a guess, and guessing about
 * credentials is how bugs become holes.
 */
export const tokenFromRequest = (url: URL, headers: IncomingHttpHeaders): string | null => {
  const fromQuery = url.searchParams.getAll(TOKEN_QUERY_PARAM)
  const fromProtocol = offeredSubprotocols(headers)
    .filter((entry) => entry.startsWith(BEARER_SUBPROTOCOL_PREFIX))
    .map((entry) => entry.slice(BEARER_SUBPROTOCOL_PREFIX.length))
  const tokens = new Set([...fromQuery, ...fromProtocol].filter((token) => token !== ''))
  if (tokens.size > 1) {
    throw new AuthError(
      AuthErrorCode.TokenInvalid,
      'ambiguous',
      'the request carries more than one different token (query parameter "token" and/or Sec-WebSocket-Protocol "bearer." entries); send exactly one',
    )
  }
  const [token] = tokens
  return token ?? null
}

/**
 * For `new WebSocketServer({ handleProtocols })`: the subprotocol to answer with. Picks
 * `posalpro-collab` when offered, otherwise the first offered entry that is not a token; never a
 * `bearer.` entry. `false` means "answer with none" (fine for clients that offered none).
 */
export const selectSubprotocol = (protocols: ReadonlySet<string> | Iterable<string>): string | false => {
  const offered = [...protocols]
  if (offered.includes(COLLAB_SUBPROTOCOL)) return COLLAB_SUBPROTOCOL
  return offered.find((entry) => !entry.startsWith(BEARER_SUBPROTOCOL_PREFIX)) ?? false
}

/** The request URL with the token replaced, for logs: a logged URL must not be a credential. */
export const redactTokenInUrl = (url: URL): string => {
  if (!url.searchParams.has(TOKEN_QUERY_PARAM)) return url.pathname + url.search
  const copy = new URL(url.href)
  const count = copy.searchParams.getAll(TOKEN_QUERY_PARAM).length
  copy.searchParams.delete(TOKEN_QUERY_PARAM)
  for (let i = 0; i < count; i++) copy.searchParams.append(TOKEN_QUERY_PARAM, 'REDACTED')
  return copy.pathname + copy.search
}

/**
 * Verifies the token of an HTTP API request (`Authorization: Bearer <jwt>`). A request without
 * one is told where an HTTP API expects it (the verifier's own message is about WebSockets).
 */
export const verifyBearer = async (headers: IncomingHttpHeaders, verifier: TokenVerifier): Promise<Identity> => {
  const token = /^Bearer (.+)$/i.exec(headers.authorization ?? '')?.[1]
  if (!token) throw new AuthError(AuthErrorCode.TokenMissing, 'missing', 'no token: send it as "Authorization: Bearer <token>"')
  return verifier.verify(token)
}
