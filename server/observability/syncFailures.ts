import { Counter, Gauge, type Registry } from 'prom-client'
import { CloseCode } from '../../shared/closeCodes.ts'

/**
 * Close codes that end a connection because its sync failed: the server could not take or store
 * what the client sent, or had to drop it. Not here: shutdown (1001), an expired token (4401) and
 * a document moving to another node (4502), which a reconnect resolves by design, and closes the
 * server did not choose (1000, 1005, 1006: the client left, the network dropped).
 */
const FAILED_SYNC_CODES: ReadonlySet<number> = new Set([
  CloseCode.PersistenceFailed,
  CloseCode.InternalError,
  CloseCode.ResyncRequired,
  CloseCode.InvalidUpdate,
  CloseCode.MalformedMessage,
  CloseCode.RateLimited,
  CloseCode.SlowReader,
  CloseCode.MessageTooBig,
])

/** Who a client is for the streaks: one user on one device (all its tabs together). */
export interface SyncClient {
  readonly tenant: string
  readonly userId: string
  readonly device: string | null
}

/**
 * Consecutive failed syncs per client, without a label per client (which would grow the metrics
 * without bound): a counter of the times a client reached `threshold` failed connections in a row,
 * and a gauge of the clients whose latest `threshold` or more connections all failed. A
 * connection that ends any other way resets its client. Failures per close code are counted too
 * (a handful of codes, so a bounded label).
 *
 * The streaks are kept in memory for at most `maxTracked` clients, the least recently seen
 * forgotten first, so a flood of one-off identities cannot grow it.
 */
export class SyncFailureStreaks {
  private readonly streaks = new Map<string, number>()
  private failing = 0
  private readonly reachedThreshold: Counter
  private readonly failingNow: Gauge
  private readonly failedConnections: Counter<'code'>

  constructor(
    registry: Registry,
    private readonly threshold = 3,
    private readonly maxTracked = 100_000,
  ) {
    const registers = [registry]
    this.reachedThreshold = new Counter({ name: 'collab_sync_failure_streaks_total', help: `Times a client (user and device) had ${threshold} failed syncs in a row`, registers })
    this.failingNow = new Gauge({ name: 'collab_clients_failing_sync', help: `Clients whose last ${threshold} or more connections all ended in a failed sync`, registers })
    this.failedConnections = new Counter({
      name: 'collab_failed_connections_total',
      help: 'Connections the server closed because their sync failed, by close code (4500: the store failed)',
      labelNames: ['code'] as const,
      registers,
    })
    // Every code at 0 from the start, so rates and alerts see a series before the first failure.
    for (const code of FAILED_SYNC_CODES) this.failedConnections.inc({ code: String(code) }, 0)
  }

  /** A connection of `client` ended with `closeCode` (the code the server sent, when it closed it). */
  connectionEnded(client: SyncClient, closeCode: number): void {
    const key = `${client.tenant}\u0000${client.userId}\u0000${client.device ?? ''}`
    const previous = this.streaks.get(key) ?? 0
    this.streaks.delete(key)
    if (!FAILED_SYNC_CODES.has(closeCode)) {
      if (previous >= this.threshold) this.failingNow.set(--this.failing)
      return
    }
    this.failedConnections.inc({ code: String(closeCode) })
    const streak = previous + 1
    this.streaks.set(key, streak)
    if (streak === this.threshold) {
      this.reachedThreshold.inc()
      this.failingNow.set(++this.failing)
    }
    if (this.streaks.size > this.maxTracked) {
      const [oldestKey, oldest] = this.streaks.entries().next().value as [string, number]
      this.streaks.delete(oldestKey)
      if (oldest >= this.threshold) this.failingNow.set(--this.failing)
    }
  }
}
