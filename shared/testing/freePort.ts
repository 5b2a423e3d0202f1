import net from 'node:net'

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the OS picked it for a listener we closed).
 * Another process may take it before the caller binds it: callers that start a server on it retry
 * with a new port when the bind fails.
 */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
