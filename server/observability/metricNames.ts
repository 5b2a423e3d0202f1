import { ClusterMetrics } from '../cluster/clusterMetrics.ts'
import { CollabMetrics } from './metrics.ts'

/**
 * Every metric name a server can serve at `/metrics` (cluster mode's included), with the series a
 * histogram adds (`_bucket`, `_sum`, `_count`): what a dashboard or an alert rule may refer to.
 */
export const servedMetricNames = async (): Promise<ReadonlySet<string>> => {
  const metrics = new CollabMetrics()
  new ClusterMetrics(metrics.registry)
  const names = new Set<string>()
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    names.add(metric.name)
    if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`)
  }
  return names
}

/** The metric names a PromQL expression reads (ours and Node's: `collab_`, `nodejs_`, `process_`). */
export const metricsReadBy = (expression: string): string[] => [...new Set(expression.match(/\b(?:collab|nodejs|process)_[a-z0-9_]+/g) ?? [])]

/**
 * Whether a `/metrics` answer serves `name` (a histogram's `_bucket`, `_sum`, `_count` by its
 * base name): read from the HELP lines, so a labelled counter nothing has counted yet (which has
 * no sample line) counts as served.
 */
export const servedIn = (metricsText: string, name: string): boolean => {
  const base = name.replace(/_(bucket|sum|count)$/, '')
  return metricsText.includes(`\n# HELP ${name} `) || metricsText.startsWith(`# HELP ${name} `) || metricsText.includes(`\n# HELP ${base} `) || metricsText.startsWith(`# HELP ${base} `)
}
