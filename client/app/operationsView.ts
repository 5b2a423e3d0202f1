import { h } from './dom.ts'
import { timeSeriesChart, type Series } from './timeSeriesChart.ts'
import { tokenSource, type Session } from './session.ts'

/** One sample of `GET /api/operations` (server/observability/operationsSampler.ts). */
interface Sample {
  readonly at: number
  readonly connections: number
  readonly loadedDocuments: number
  readonly updatesPerSecond: number
  readonly syncP50Ms: number | null
  readonly syncP95Ms: number | null
  readonly rejectionPct: number | null
  readonly conflictPct: number | null
  readonly pendingReviews: number
  readonly persistenceErrors: number
}

interface Operations {
  readonly intervalMs: number
  readonly conflictTargetPct: number
  readonly samples: readonly Sample[]
}

/** How often the view asks for new samples (the server takes one every opsSampleIntervalMs). */
const REFRESH_MS = 3_000
/** Points drawn per chart: the last five minutes at the default sampling. */
const POINTS = 150

const COLORS = { first: '#1d4ed8', second: '#b45309', third: '#047857' }

/**
 * The operations view (`#/ops`, admins): live small charts of the server's own metrics, sampled
 * server-side (the browser parses no Prometheus text), refreshed every few seconds — connections
 * and loaded documents, update rate, sync latency p50/p95 (receive → durable), rejection and
 * conflict rates (% of updates; the 1 % conflict target as a threshold line), pending reviews,
 * persistence errors. Each chart's caption says the latest values in words.
 */
export const operationsView = (session: Session): { element: HTMLElement; dispose: () => void } => {
  const token = tokenSource(session)
  const status = h('p', { class: 'hint', role: 'status' })
  const grid = h('div', { class: 'ops-grid', 'aria-busy': 'true' })
  let timer: ReturnType<typeof setTimeout> | null = null
  let disposed = false

  const chart = (title: string, caption: string, series: Series[], threshold?: { value: number; label: string }) =>
    h('figure', { class: 'ops-chart', 'data-chart': title }, h('figcaption', {}, h('strong', {}, title), h('span', { class: 'ops-latest' }, caption)), timeSeriesChart(series, threshold ? { threshold } : {}))

  const render = ({ samples, conflictTargetPct }: Operations) => {
    const recent = samples.slice(-POINTS)
    const last = recent.at(-1)
    const pick = (read: (sample: Sample) => number | null) => recent.map(read)
    const text = (value: number | null | undefined, unit: string, digits = 1) => (value === null || value === undefined ? '—' : `${value.toFixed(digits)}${unit}`)
    grid.replaceChildren(
      chart('Connections and loaded documents', `${last?.connections ?? 0} connections, ${last?.loadedDocuments ?? 0} documents`, [
        { label: 'connections', color: COLORS.first, values: pick((sample) => sample.connections) },
        { label: 'documents', color: COLORS.second, values: pick((sample) => sample.loadedDocuments) },
      ]),
      chart('Update rate', `${text(last?.updatesPerSecond, ' updates/s')}`, [{ label: 'updates/s', color: COLORS.first, values: pick((sample) => sample.updatesPerSecond) }]),
      chart('Sync latency (receive → durable)', `p50 ${text(last?.syncP50Ms, ' ms', 2)}, p95 ${text(last?.syncP95Ms, ' ms', 2)}`, [
        { label: 'p50', color: COLORS.first, values: pick((sample) => sample.syncP50Ms) },
        { label: 'p95', color: COLORS.second, values: pick((sample) => sample.syncP95Ms) },
      ]),
      chart(
        'Rejections and conflicts',
        `rejected ${text(last?.rejectionPct, ' %')}, conflicts ${text(last?.conflictPct, ' %')} (target below ${conflictTargetPct} %)`,
        [
          { label: 'rejected %', color: COLORS.second, values: pick((sample) => sample.rejectionPct) },
          { label: 'conflicts %', color: COLORS.first, values: pick((sample) => sample.conflictPct) },
        ],
        { value: conflictTargetPct, label: `${conflictTargetPct} % conflict target` },
      ),
      chart('Pending reviews', `${last?.pendingReviews ?? 0} pending in open documents`, [{ label: 'pending', color: COLORS.third, values: pick((sample) => sample.pendingReviews) }]),
      chart('Persistence errors', `${last?.persistenceErrors ?? 0} failed writes in the last interval`, [
        { label: 'errors', color: '#b91c1c', values: pick((sample) => sample.persistenceErrors) },
      ]),
    )
    grid.removeAttribute('aria-busy')
  }

  const refresh = async () => {
    try {
      const response = await fetch('/api/operations', { headers: { authorization: `Bearer ${await token()}` } })
      const body = (await response.json()) as Operations & { error?: { message: string } }
      if (!response.ok) throw new Error(body.error?.message ?? `operations failed (${response.status})`)
      if (disposed) return
      status.textContent = body.samples.length === 0 ? 'Collecting the first samples…' : ''
      render(body)
    } catch (error) {
      if (!disposed) status.textContent = `The operations data could not be loaded: ${(error as Error).message}`
    } finally {
      if (!disposed) timer = setTimeout(() => void refresh(), REFRESH_MS)
    }
  }
  void refresh()

  const element = h(
    'section',
    { class: 'operations' },
    h('a', { href: '#/', class: 'back' }, '← Documents'),
    h('h1', {}, 'Operations'),
    h('p', { class: 'hint' }, 'This server, live: one point every few seconds, the last few minutes.'),
    status,
    grid,
  )
  return {
    element,
    dispose: () => {
      disposed = true
      if (timer) clearTimeout(timer)
    },
  }
}
