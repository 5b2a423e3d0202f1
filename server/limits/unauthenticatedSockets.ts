import { readFileSync } from 'node:fs'
import type { Socket } from 'node:net'

export interface UnauthenticatedLimits {
  /** Per address; Infinity when addresses cannot be told apart (behind a trusted proxy). */
  readonly perAddress: number
  readonly total: number
}

/** Which tracker a socket is counted by, for one shared close listener instead of a closure each. */
const trackerOf = new WeakMap<Socket, UnauthenticatedSockets>()

function forget(this: Socket): void {
  trackerOf.get(this)?.authenticated(this)
}

/**
 * Sockets that have not (yet) completed an authenticated WebSocket upgrade: connecting, sending
 * headers, waiting for a token to verify, or plain HTTP. Unauthenticated peers cost descriptors
 * and nothing else stops them, so they are capped per address and in total. At a cap the oldest
 * such socket (of the address, or of all) is closed to make room: a stalled request has had its
 * chance, while a fresh one (a health check, a neighbour's connect) completes in a round trip. So
 * a flood of half-sent requests can hold at most the cap, and never locks out newcomers.
 */
export class UnauthenticatedSockets {
  /** In arrival order (a Set iterates in insertion order): the first is the oldest. */
  private readonly all = new Set<Socket>()
  private readonly byAddress = new Map<string, Set<Socket>>()
  private readonly addressOf = new WeakMap<Socket, string>()
  /** Sockets closed to make room, since start (for logs and tests). */
  evicted = 0

  constructor(private readonly limits: UnauthenticatedLimits) {}

  get size(): number {
    return this.all.size
  }

  /** A new connection; from now on it counts until `authenticated` or its close. */
  add(socket: Socket): void {
    const address = socket.remoteAddress ?? 'unknown'
    let ofAddress = this.byAddress.get(address)
    if (ofAddress && ofAddress.size >= this.limits.perAddress) this.evict(ofAddress.values().next().value!)
    if (this.all.size >= this.limits.total) this.evict(this.all.values().next().value!)
    ofAddress = this.byAddress.get(address)
    if (!ofAddress) this.byAddress.set(address, (ofAddress = new Set()))
    ofAddress.add(socket)
    this.all.add(socket)
    this.addressOf.set(socket, address)
    trackerOf.set(socket, this)
    socket.once('close', forget)
  }

  /** The socket became an authenticated WebSocket (or closed): it no longer counts. */
  authenticated(socket: Socket): void {
    if (!this.all.delete(socket)) return
    socket.off('close', forget)
    const address = this.addressOf.get(socket)!
    const ofAddress = this.byAddress.get(address)
    ofAddress?.delete(socket)
    if (ofAddress?.size === 0) this.byAddress.delete(address)
  }

  private evict(socket: Socket): void {
    this.authenticated(socket)
    this.evicted++
    socket.destroy()
  }
}

/**
 * The default total cap: a quarter of the process's open-file limit (Linux: /proc/self/limits),
 * leaving the rest to authenticated connections, LevelDB, the log and health checks. 1024 (a
 * common soft limit) where the limit cannot be read.
 */
export const defaultUnauthenticatedCap = (): number => {
  let limit = 1024
  try {
    const line = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
    if (line) limit = Number(line[1])
  } catch {
    // not Linux: keep the common default
  }
  return Math.max(16, Math.floor(limit / 4))
}
