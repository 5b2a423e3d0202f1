import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { TLSSocket } from 'node:tls'

/**
 * The TCP socket under a connection: the one the server's `connection` event saw. Over TLS the
 * request's socket is a TLSSocket wrapping it (Node keeps the wrapped socket in `_parent`); the
 * unauthenticated-socket count is kept on the TCP socket, because it starts before the handshake.
 */
export const transportSocket = (socket: Duplex): Socket => {
  const parent = (socket as { _parent?: unknown })._parent
  return (parent && (socket as Partial<TLSSocket>).encrypted ? parent : socket) as Socket
}
