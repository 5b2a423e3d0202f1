import { readFileSync } from 'node:fs'
import net from 'node:net'

/**
 * The ports the OS hands out on its own (a listener on port 0, the local end of every outgoing
 * connection): Linux's ip_local_port_range, or the IANA range elsewhere.
 */
export const ephemeralPortRange = (): { first: number; last: number } => {
  try {
    const [first, last] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number)
    if (Number.isInteger(first) && Number.isInteger(last) && first! > 1024) return { first: first!, last: last! }
  } catch {
    // not Linux
  }
  return { first: 49152, last: 65535 }
}

const listensOn = (port: number): Promise<boolean> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' || error.code === 'EACCES' ? resolve(false) : reject(error)))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, for a server started a little later (a child
 * process, a throwaway PostgreSQL). Taken below the OS's ephemeral range: a port the OS picked
 * itself could be handed out again meanwhile to any test's port-0 listener or to the local end of
 * any outgoing connection — with hundreds of test clients connecting, that happened (a node of a
 * local cluster failing to start with EADDRINUSE). Another process may still take it before the
 * caller binds it: callers that start a server on it retry with a new port when the bind fails.
 */
export const freePort = async (): Promise<number> => {
  const { first } = ephemeralPortRange()
  const low = Math.max(10_000, first - 12_000)
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = low + Math.floor(Math.random() * (first - low))
    if (await listensOn(port)) return port
  }
  throw new Error(`no free port found between ${low} and ${first - 1}`)
}
