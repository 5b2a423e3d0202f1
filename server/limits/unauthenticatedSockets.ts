import { readFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import { ErrorCode } from '../../shared/errors.ts'

export interface UnauthenticatedLimits {
  /** Per address; Infinity when addresses cannot be told apart (behind a trusted proxy). */
  readonly perAddress: number
  readonly total: number
  /** Told of every socket closed to make room, with the cap's code (the access audit sums them up). */
  readonly onEvicted?: (address: string | undefined, code: ErrorCode) => void
}

/** Which tracker a socket is counted by, for one shared close listener instead of a closure each. */
const trackerOf = new WeakMap<Socket, UnauthenticatedSockets>()

/** Addresses of cluster nodes remembered from their vouched connections (bounded: a cluster has few nodes). */
const MAX_NODE_ADDRESSES = 64
/** A node address not seen vouching for this long is forgotten (a node replaced, an address reused). */
const NODE_ADDRESS_TTL_MS = 10 * 60_000

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
  /**
   * Cluster nodes' addresses (the address their vouched connections came from) and when each last
   * vouched. A node forwards many clients from one address: its sockets count against the total
   * only until their request shows the node's signature, then against the client's address.
   */
  private readonly nodeAddresses = new Map<string, number>()

  constructor(private readonly limits: UnauthenticatedLimits) {}

  get size(): number {
    return this.all.size
  }

  /** A new connection; from now on it counts until `authenticated` or its close. */
  add(socket: Socket): void {
    const address = socket.remoteAddress ?? 'unknown'
    if (this.all.size >= this.limits.total) this.evict(this.all.values().next().value!, ErrorCode.TooManyUnauthenticated)
    this.all.add(socket)
    this.place(socket, this.isNodeAddress(address) ? nodeKey(address) : address)
    trackerOf.set(socket, this)
    socket.once('close', forget)
  }

  /**
   * The socket's request carries a cluster node's valid signature vouching for `clientAddress`
   * (a forwarded upgrade): from now on it counts for that client, like the client's own
   * connections, not for the node that carries it; and the node's address is remembered, so its
   * next sockets wait for their request before any per-address cap applies to them.
   */
  vouchedFor(socket: Socket, clientAddress: string): void {
    if (!this.all.has(socket)) return
    const nodeAddress = socket.remoteAddress ?? 'unknown'
    this.nodeAddresses.delete(nodeAddress) // re-inserted last: the map stays in order of last use
    this.nodeAddresses.set(nodeAddress, Date.now())
    if (this.nodeAddresses.size > MAX_NODE_ADDRESSES) this.nodeAddresses.delete(this.nodeAddresses.keys().next().value!)
    this.unplace(socket)
    this.place(socket, clientAddress)
  }

  private isNodeAddress(address: string): boolean {
    const seen = this.nodeAddresses.get(address)
    if (seen === undefined) return false
    if (Date.now() - seen <= NODE_ADDRESS_TTL_MS) return true
    this.nodeAddresses.delete(address)
    return false
  }

  /** Counts the socket under `key`; at the cap the oldest socket under it is closed to make room. */
  private place(socket: Socket, key: string): void {
    let ofAddress = this.byAddress.get(key)
    if (ofAddress && !key.startsWith(NODE_KEY_PREFIX) && ofAddress.size >= this.limits.perAddress) this.evict(ofAddress.values().next().value!, ErrorCode.TooManyUnauthenticatedFromAddress)
    ofAddress = this.byAddress.get(key)
    if (!ofAddress) this.byAddress.set(key, (ofAddress = new Set()))
    ofAddress.add(socket)
    this.addressOf.set(socket, key)
  }

  private unplace(socket: Socket): void {
    const key = this.addressOf.get(socket)!
    const ofAddress = this.byAddress.get(key)
    ofAddress?.delete(socket)
    if (ofAddress?.size === 0) this.byAddress.delete(key)
  }

  /** The socket became an authenticated WebSocket (or closed): it no longer counts. */
  authenticated(socket: Socket): void {
    if (!this.all.delete(socket)) return
    socket.off('close', forget)
    this.unplace(socket)
  }

  private evict(socket: Socket, code: ErrorCode): void {
    this.authenticated(socket)
    this.evicted++
    this.limits.onEvicted?.(socket.remoteAddress, code)
    socket.destroy()
  }
}

/** Sockets from a known node's address, not yet vouched for: under the total cap only. */
const NODE_KEY_PREFIX = 'node:'
const nodeKey = (address: string): string => `${NODE_KEY_PREFIX}${address}`

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
