/**
 * How a WebSocket client hands its token to the server without putting it in the URL (URLs end up
 * in browser consoles on every refused or retried connection, in proxy logs and in history):
 * it offers two subprotocols,
 *
 *     new WebSocket(url, ['posalpro-collab', 'bearer.<jwt>'])
 *     → Sec-WebSocket-Protocol: posalpro-collab, bearer.<jwt>
 *
 * `bearer.` followed by the compact JWT (base64url and dots are valid subprotocol characters).
 * The server answers `posalpro-collab` and never echoes the `bearer.` entry. Shared by the server
 * (which reads it) and the project's client (which sends it).
 */
export const COLLAB_SUBPROTOCOL = 'posalpro-collab'
export const BEARER_SUBPROTOCOL_PREFIX = 'bearer.'

/** The subprotocols a client offers to carry `token` (just the collab protocol without one). */
export const tokenSubprotocols = (token: string | undefined): string[] =>
  token ? [COLLAB_SUBPROTOCOL, `${BEARER_SUBPROTOCOL_PREFIX}${token}`] : [COLLAB_SUBPROTOCOL]
