import { createClient } from 'redis'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { COMMAND_TIMEOUT_MS } from './documentLease.ts'

/**
 * Refreshed every 3 s, kept 10 s: a node that stopped (crash, kill -9) disappears from the registry
 * about when its leases expire, and one lost refresh does not make a live node unknown.
 */
export const NODE_REFRESH_MS = 3_000
export const NODE_TTL_MS = 10_000

export interface NodeRegistryOptions {
  readonly nodeId: string
  /** The base URL other nodes reach this node at. */
  readonly advertiseUrl: string
  readonly prefix?: string
  readonly refreshMs?: number
  readonly ttlMs?: number
  readonly onError?: (error: Error) => void
}

/**
 * Where each node can be reached: `posalpro:node:{nodeId}` → its advertise URL, with an expiry,
 * refreshed periodically. A lease names its holder by node id; this turns that id into the URL a
 * non-owner forwards a client (or an admin change) to.
 */
export class NodeRegistry {
  private readonly client: ReturnType<typeof createClient>
  private readonly prefix: string
  private readonly refreshMs: number
  private readonly ttlMs: number
  private timer: NodeJS.Timeout | null = null

  constructor(
    url: string,
    private readonly options: NodeRegistryOptions,
  ) {
    this.prefix = options.prefix ?? 'posalpro'
    this.refreshMs = options.refreshMs ?? NODE_REFRESH_MS
    this.ttlMs = options.ttlMs ?? NODE_TTL_MS
    this.client = createClient({
      url,
      disableOfflineQueue: true,
      socket: { connectTimeout: COMMAND_TIMEOUT_MS, reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 1_000) },
    })
    this.client.on('error', (error: Error) => options.onError?.(error))
    // Registered as soon as Redis answers (again: a restarted Redis lost the entry).
    this.client.on('ready', () => void this.register())
    this.client.connect().catch((error: Error) => options.onError?.(error))
  }

  /** Starts refreshing this node's entry. */
  start(): void {
    if (this.timer) return
    void this.register()
    this.timer = setInterval(() => void this.register(), this.refreshMs)
    this.timer.unref()
  }

  /** The advertise URL of a node, or null when it is not registered (stopped, or never started). */
  async urlOf(nodeId: string): Promise<string | null> {
    return this.bounded('lookup', this.client.get(this.key(nodeId)))
  }

  /** Stops refreshing and removes this node's entry (a clean shutdown: nobody forwards here any more). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    await this.bounded('unregister', this.client.del(this.key(this.options.nodeId))).catch(() => {})
    this.client.destroy()
  }

  private async register(): Promise<void> {
    try {
      await this.bounded('register', this.client.set(this.key(this.options.nodeId), this.options.advertiseUrl, { PX: this.ttlMs }))
    } catch (error) {
      this.options.onError?.(error as Error)
    }
  }

  private key(nodeId: string): string {
    return `${this.prefix}:node:{${nodeId}}`
  }

  private async bounded<T>(operation: string, call: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CollabError(ErrorCode.LeaseUnavailable, `node ${operation}: Redis did not answer in time`)), COMMAND_TIMEOUT_MS)
    })
    try {
      return await Promise.race([call, timeout])
    } catch (error) {
      if (error instanceof CollabError) throw error
      throw new CollabError(ErrorCode.LeaseUnavailable, `node ${operation}: ${(error as Error).message}`)
    } finally {
      clearTimeout(timer)
    }
  }
}
