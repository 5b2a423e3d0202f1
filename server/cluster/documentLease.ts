import { randomUUID } from 'node:crypto'
import os from 'node:os'
import { createClient } from 'redis'
import { CollabError, ErrorCode } from '../../shared/errors.ts'

/**
 * Which node owns a document: a lease in Redis with a fencing epoch. The gate must see one
 * document's updates in one order, so one node at a time applies, stores and broadcasts them.
 *
 * - `posalpro:lease:{doc}` holds `<epoch>:<nodeId>` with a PX expiry: the holder. Only the Lua
 *   scripts below touch it, each atomic: acquire sets it only when nobody holds it (or extends it
 *   when this node already does); renew and release act only when it still holds this node's
 *   holder *and epoch* (compare-and-set), so a node that lost the lease can never extend or delete
 *   the lease of the node that took over. Never a plain SET or DEL from a client.
 * - `posalpro:epoch:{doc}` is a counter without expiry, raised each time the document changes
 *   hands: the fencing token. The store refuses a write whose epoch is lower than one that has
 *   already written (persistence/postgres/epochFence.ts), in the write's own transaction, so a holder paused
 *   past its lease (GC, SIGSTOP, a partition) cannot write after another node took over even if it
 *   still believes it holds the lease.
 *
 * The `{doc}` hash tag keeps both keys of a document in one slot (Redis Cluster runs a script only
 * over keys of one slot). One Redis, no Redlock: correctness rests on the fence in the store, not
 * on the lease being exact; the lease only keeps two nodes from contending all the time.
 */

/**
 * Lease 10 s, renewed every 3 s: three renewals fit in one lease, so a lost round trip or a short
 * Redis hiccup does not hand a busy document over; a crashed owner's documents wait at most 10 s
 * for a new owner. Longer leases lengthen that wait; a renewal interval near the lease makes one
 * slow renewal lose the document.
 */
export const LEASE_MS = 10_000
export const RENEW_EVERY_MS = 3_000
/**
 * Each Redis call gives up after 1 s (an error, not a hang): a renewal that cannot get through
 * is retried at the next interval, well before the lease runs out.
 */
export const COMMAND_TIMEOUT_MS = 1_000

export interface Lease {
  readonly document: string
  readonly nodeId: string
  /** The fencing token: every write made under this lease carries it. */
  readonly epoch: number
  /**
   * `performance.now()` until which this node may write under the lease. Counted from *before* the
   * request was sent (Redis started the expiry later), minus a margin for clock-rate drift: the
   * holder's view ends before Redis's. A holder that has not renewed by then stops writing.
   */
  readonly validUntil: number
}

export interface LeaseHolder {
  readonly nodeId: string
  readonly epoch: number
  /** Milliseconds until the lease expires unless renewed. */
  readonly expiresInMs: number
}

export type Acquired = { readonly acquired: true; readonly lease: Lease } | { readonly acquired: false; readonly holder: LeaseHolder }

export interface DocumentLeasesOptions {
  /** This node's id: unique per process (see `newNodeId`), or two processes would share leases. */
  readonly nodeId: string
  readonly leaseMs?: number
  readonly commandTimeoutMs?: number
  /** Key prefix (tests and several deployments on one Redis). */
  readonly prefix?: string
  /** Told about connection errors (the client reconnects on its own; calls fail until it has). */
  readonly onError?: (error: Error) => void
}

/** A node id unique to this process: host, pid and a random part (a restarted process is a new node). */
export const newNodeId = (): string => `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`

// KEYS[1] lease, KEYS[2] epoch counter; ARGV[1] nodeId, ARGV[2] lease ms, ARGV[3] lowest epoch to exceed.
// → {1, epoch} acquired (or extended), {0, epoch, nodeId, pttl} held by another node.
const ACQUIRE = `
local current = redis.call('GET', KEYS[1])
if current then
  local sep = string.find(current, ':', 1, true)
  local epoch = tonumber(string.sub(current, 1, sep - 1))
  local holder = string.sub(current, sep + 1)
  if holder == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {1, epoch}
  end
  return {0, epoch, holder, redis.call('PTTL', KEYS[1])}
end
local epoch = redis.call('INCR', KEYS[2])
local floor = tonumber(ARGV[3])
if epoch <= floor then
  epoch = floor + 1
  redis.call('SET', KEYS[2], epoch)
end
redis.call('SET', KEYS[1], epoch .. ':' .. ARGV[1], 'PX', ARGV[2])
return {1, epoch}
`
// KEYS[1] lease; ARGV[1] `<epoch>:<nodeId>` expected, ARGV[2] lease ms. → 1 renewed, 0 not the holder.
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`
// KEYS[1] lease; ARGV[1] `<epoch>:<nodeId>` expected. → 1 released, 0 not the holder.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`
// KEYS[1] lease. → nil, or {value, pttl} read together.
const HOLDER = `
local current = redis.call('GET', KEYS[1])
if not current then return nil end
return {current, redis.call('PTTL', KEYS[1])}
`

export class DocumentLeases {
  readonly nodeId: string
  private readonly leaseMs: number
  private readonly commandTimeoutMs: number
  private readonly prefix: string
  private readonly client: ReturnType<typeof createClient>

  /**
   * Starts connecting to Redis at `url` and returns at once: a node starts even while Redis is
   * down, and every call fails with ERR_LEASE_UNAVAILABLE (never waits) until it is back.
   */
  constructor(url: string, options: DocumentLeasesOptions) {
    this.nodeId = options.nodeId
    this.leaseMs = options.leaseMs ?? LEASE_MS
    this.commandTimeoutMs = options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS
    this.prefix = options.prefix ?? 'posalpro'
    if (this.nodeId.length === 0) throw new CollabError(ErrorCode.BadConfig, 'a lease needs a node id')
    this.client = createClient({
      url,
      // Offline: fail at once instead of queueing (a queued renewal would arrive after its lease).
      disableOfflineQueue: true,
      socket: {
        connectTimeout: this.commandTimeoutMs,
        reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 1_000),
      },
    })
    this.client.on('error', (error: Error) => options.onError?.(error))
    this.client.connect().catch((error: Error) => options.onError?.(error))
  }

  /**
   * Takes the document's lease when nobody holds it (with a new, higher epoch), or extends it when
   * this node already does (same epoch). `after`: the highest epoch the store has seen for the
   * document; the new epoch is above it even if Redis lost its counter (it keeps nothing on disk).
   */
  async acquire(document: string, { after = 0 }: { after?: number } = {}): Promise<Acquired> {
    const sentAt = performance.now()
    const reply = (await this.run('acquire', ACQUIRE, [this.leaseKey(document), this.epochKey(document)], [this.nodeId, String(this.leaseMs), String(after)])) as
      | [1, number]
      | [0, number, string, number]
    if (reply[0] === 1) return { acquired: true, lease: this.leaseOf(document, reply[1], sentAt) }
    return { acquired: false, holder: { epoch: reply[1], nodeId: reply[2], expiresInMs: Math.max(0, reply[3]) } }
  }

  /** Extends a lease this node still holds with the same epoch; null when it was lost (expired, or taken over). */
  async renew(lease: Lease): Promise<Lease | null> {
    const sentAt = performance.now()
    const renewed = await this.run('renew', RENEW, [this.leaseKey(lease.document)], [holderValue(lease), String(this.leaseMs)])
    return renewed === 1 ? this.leaseOf(lease.document, lease.epoch, sentAt) : null
  }

  /** Gives the lease up (the document unloaded here); false when this node no longer held it. */
  async release(lease: Lease): Promise<boolean> {
    return (await this.run('release', RELEASE, [this.leaseKey(lease.document)], [holderValue(lease)])) === 1
  }

  /** Who holds the document now, or null when nobody does. */
  async holder(document: string): Promise<LeaseHolder | null> {
    const reply = (await this.run('holder', HOLDER, [this.leaseKey(document)], [])) as [string, number] | null
    if (reply === null) return null
    const [value, pttl] = reply
    const sep = value.indexOf(':')
    return { epoch: Number(value.slice(0, sep)), nodeId: value.slice(sep + 1), expiresInMs: Math.max(0, pttl) }
  }

  /** Is the connection to Redis up (calls can succeed)? False while it reconnects: `/readyz`. */
  get connected(): boolean {
    return this.client.isReady
  }

  /** Closes the connection (leases held are not released: they expire). */
  close(): void {
    this.client.destroy()
  }

  private leaseOf(document: string, epoch: number, sentAt: number): Lease {
    const driftMargin = this.leaseMs / 100 + 2
    return { document, nodeId: this.nodeId, epoch, validUntil: sentAt + this.leaseMs - driftMargin }
  }

  private leaseKey(document: string): string {
    return `${this.prefix}:lease:{${document}}`
  }

  private epochKey(document: string): string {
    return `${this.prefix}:epoch:{${document}}`
  }

  /**
   * One script call, bounded by commandTimeoutMs. A call that timed out may still run on Redis
   * later: harmless, since an acquire nobody learned of only expires, and a late renew or release
   * still compares holder and epoch.
   */
  private async run(operation: string, script: string, keys: string[], args: string[]): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new CollabError(ErrorCode.LeaseUnavailable, `lease ${operation}: Redis did not answer within ${this.commandTimeoutMs} ms`)),
        this.commandTimeoutMs,
      )
    })
    try {
      return await Promise.race([this.client.eval(script, { keys, arguments: args }), timeout])
    } catch (error) {
      if (error instanceof CollabError) throw error
      throw new CollabError(ErrorCode.LeaseUnavailable, `lease ${operation}: ${(error as Error).message}`)
    } finally {
      clearTimeout(timer)
    }
  }
}

const holderValue = (lease: Lease): string => `${lease.epoch}:${lease.nodeId}`
