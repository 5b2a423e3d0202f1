import type { Registry } from 'prom-client'

/** One point of the operations view: what the server's own metrics said over one interval. */
export interface OperationsSample {
  /** ms epoch at the end of the interval. */
  readonly at: number
  readonly connections: number
  readonly loadedDocuments: number
  /** Updates handled per second (every outcome). */
  readonly updatesPerSecond: number
  /** Receive → durable latency of the interval's updates, in ms (null: none in the interval). */
  readonly syncP50Ms: number | null
  readonly syncP95Ms: number | null
  /** Updates refused (a rule, or a viewer's write) and concurrent overwrites, in % of the interval's updates. */
  readonly rejectionPct: number | null
  readonly conflictPct: number | null
  /** Pending review items of the loaded documents. */
  readonly pendingReviews: number
  /** Store writes that failed in the interval. */
  readonly persistenceErrors: number
}

/** Samples kept: at the default two seconds, the last six minutes. */
export const KEPT_SAMPLES = 180

interface Totals {
  readonly at: number
  readonly updates: number
  readonly refused: number
  readonly conflicts: number
  readonly persistenceErrors: number
  /** The latency histogram's cumulative bucket counts, by upper bound (s). */
  readonly buckets: ReadonlyArray<{ le: number; count: number }>
}

/** The metrics a sample reads. */
const SAMPLED_METRICS = ['collab_updates_total', 'collab_conflicts_total', 'collab_persistence_errors_total', 'collab_update_durable_seconds']

type MetricJson = { name: string; values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }> }

/**
 * Samples the prom-client registry every `intervalMs` into a ring buffer of KEPT_SAMPLES, so the
 * operations view (`GET /api/operations`, admins) draws from JSON the server computed: counters
 * become rates over the interval, the latency histogram's bucket deltas quantiles. The browser
 * never parses Prometheus text, and asking for the samples reads no metric.
 */
export class OperationsSampler {
  private readonly ring: OperationsSample[] = []
  private last: Totals | null = null
  private readonly timer: NodeJS.Timeout

  constructor(
    private readonly registry: Registry,
    private readonly gauges: () => { connections: number; loadedDocuments: number; pendingReviews: number },
    readonly intervalMs: number,
  ) {
    this.timer = setInterval(() => void this.sample(), intervalMs)
    this.timer.unref()
    void this.sample()
  }

  samples(): readonly OperationsSample[] {
    return this.ring
  }

  close(): void {
    clearInterval(this.timer)
  }

  /**
   * One metric's values. Only the four the view draws: reading the whole registry ran every
   * default collector too (process_open_fds lists /proc/self/fd, one entry per socket), which
   * with thousands of connections cost more than the connections themselves.
   */
  private async read(name: string): Promise<MetricJson> {
    const metric = this.registry.getSingleMetric(name)
    return { name, values: metric ? ((await metric.get()).values as MetricJson['values']) : [] }
  }

  /** Takes one sample now (the timer calls it; tests may too). */
  async sample(): Promise<void> {
    const totals = totalsOf(await Promise.all(SAMPLED_METRICS.map((name) => this.read(name))))
    const previous = this.last
    this.last = totals
    if (!previous) return
    const seconds = Math.max(0.001, (totals.at - previous.at) / 1000)
    const updates = totals.updates - previous.updates
    const deltas = totals.buckets.map((bucket, index) => ({ le: bucket.le, count: bucket.count - (previous.buckets[index]?.count ?? 0) }))
    this.ring.push({
      at: totals.at,
      ...this.gauges(),
      updatesPerSecond: updates / seconds,
      syncP50Ms: quantileMs(deltas, 0.5),
      syncP95Ms: quantileMs(deltas, 0.95),
      rejectionPct: updates > 0 ? (100 * (totals.refused - previous.refused)) / updates : null,
      conflictPct: updates > 0 ? (100 * (totals.conflicts - previous.conflicts)) / updates : null,
      persistenceErrors: totals.persistenceErrors - previous.persistenceErrors,
    })
    if (this.ring.length > KEPT_SAMPLES) this.ring.splice(0, this.ring.length - KEPT_SAMPLES)
  }
}

const totalsOf = (metrics: readonly MetricJson[]): Totals => {
  const byName = new Map(metrics.map((metric) => [metric.name, metric.values]))
  const sum = (name: string, keep: (labels: Record<string, string | number>) => boolean = () => true) =>
    (byName.get(name) ?? []).reduce((total, { value, labels }) => total + (keep(labels) ? value : 0), 0)
  const buckets = (byName.get('collab_update_durable_seconds') ?? [])
    .filter((value) => value.metricName === 'collab_update_durable_seconds_bucket')
    .map((value) => ({ le: value.labels.le === '+Inf' ? Infinity : Number(value.labels.le), count: value.value }))
    .sort((a, b) => a.le - b.le)
  return {
    at: Date.now(),
    updates: sum('collab_updates_total'),
    refused: sum('collab_updates_total', (labels) => labels.outcome === 'rejected' || labels.outcome === 'read-only'),
    conflicts: sum('collab_conflicts_total'),
    persistenceErrors: sum('collab_persistence_errors_total'),
    buckets,
  }
}

/**
 * The q-quantile of one interval's observations from its bucket counts (cumulative), linear within
 * the bucket it falls in (as Prometheus's histogram_quantile); past the last finite bound, that bound.
 */
const quantileMs = (buckets: ReadonlyArray<{ le: number; count: number }>, q: number): number | null => {
  const total = buckets.at(-1)?.count ?? 0
  if (total <= 0) return null
  const rank = q * total
  let lowerBound = 0
  let lowerCount = 0
  for (const { le, count } of buckets) {
    if (count >= rank) {
      if (le === Infinity) return lowerBound * 1000
      const within = count - lowerCount
      return (lowerBound + (within > 0 ? ((rank - lowerCount) / within) * (le - lowerBound) : 0)) * 1000
    }
    lowerBound = le
    lowerCount = count
  }
  return lowerBound * 1000
}
