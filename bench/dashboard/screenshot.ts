/**
 * `npm run dashboard:screenshot`: the Grafana dashboard (ops/grafana/posalpro-collab.json) over a
 * scripted workload, from real data. Grafana itself is not packaged for Debian (and this machine
 * reaches no other download), so the dashboard's own queries are run against a real Prometheus
 * (Debian's) that scraped a real server during the workload, and drawn panel by panel in the
 * dashboard's layout in Chromium; the picture is ops/grafana/dashboard.png.
 *
 * Workload (~2 min): an office of stock y-websocket editors typing into proposals, and a steady
 * trickle of what the gate judges: a currency that breaks its schema (rejected), figures changed by
 * an editor (held for review), two users setting one due date at the same moment (a conflict).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright'
import { fetchDevToken } from '../../shared/testing/devTokens.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { freePort } from '../../shared/testing/freePort.ts'
import { connectStockClient, type StockClient } from '../../shared/testing/stockClient.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { startThrowaway } from '../../shared/testing/throwawayProcess.ts'
import { runOffice } from '../../server/testing/officeWorkload.ts'
import { startServer } from '../../server/testing/startServer.ts'
import { renderDashboard, type PanelData } from './renderDashboard.ts'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const DASHBOARD = path.join(ROOT, 'ops/grafana/posalpro-collab.json')
const OUTPUT = path.join(ROOT, 'ops/grafana/dashboard.png')
const WORKLOAD_MS = Number(process.env.DASHBOARD_WORKLOAD_MS ?? 120_000)
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

interface Dashboard {
  readonly title: string
  readonly panels: ReadonlyArray<{
    readonly title: string
    readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number }
    readonly fieldConfig: { readonly defaults: { readonly unit: string; readonly thresholds?: { readonly steps: ReadonlyArray<{ readonly value: number | null }> } } }
    readonly targets: ReadonlyArray<{ readonly expr: string; readonly legendFormat: string }>
  }>
}

const main = async (): Promise<void> => {
  const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as Dashboard
  const server = await startServer({ logLevel: 'warn', verifyIntervalMs: 1_000 })
  const work = await tempDir('posalpro-prometheus-')
  const prometheusPort = await freePort()
  const config = path.join(work.path, 'prometheus.yml')
  await writeFile(
    config,
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: posalpro-collab',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${server.server.port}']`,
      "        labels: { instance: 'node-1' }",
      '',
    ].join('\n'),
  )
  const prometheus = startThrowaway('prometheus', [
    `--config.file=${config}`,
    `--storage.tsdb.path=${path.join(work.path, 'data')}`,
    `--web.listen-address=127.0.0.1:${prometheusPort}`,
    '--log.level=warn',
  ])
  const prometheusUrl = `http://127.0.0.1:${prometheusPort}`
  try {
    await eventually(async () => {
      if ((await fetch(`${prometheusUrl}/-/ready`).catch(() => null))?.ok !== true) throw new Error(`Prometheus is not ready: ${prometheus.output().slice(-500)}`)
    }, { timeoutMs: 30_000 })
    const started = Date.now() / 1000
    console.error(`workload for ${WORKLOAD_MS / 1000} s against ${server.url}, Prometheus at ${prometheusUrl}`)
    const [office] = await Promise.all([
      runOffice({ url: server.url, httpUrl: server.httpUrl, editors: 8, documents: 4, charsPerSecond: 4, durationMs: WORKLOAD_MS, prefix: 'dash' }),
      judgedTrickle(server.url, server.httpUrl, WORKLOAD_MS),
    ])
    console.error(`typed ${office.typed} characters; ${office.disconnects} disconnects`)
    await new Promise((resolve) => setTimeout(resolve, 3_000)) // one more scrape of the end state
    const ended = Date.now() / 1000
    const panels: PanelData[] = []
    for (const panel of dashboard.panels) {
      const series = []
      for (const target of panel.targets) {
        const expr = target.expr.replaceAll('$instance', '.*')
        const query = new URLSearchParams({ query: expr, start: String(started), end: String(ended), step: '2' })
        const answer = (await (await fetch(`${prometheusUrl}/api/v1/query_range?${query}`)).json()) as {
          status: string
          data: { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> }
        }
        if (answer.status !== 'success') throw new Error(`query failed: ${expr}`)
        for (const result of answer.data.result) {
          series.push({
            label: target.legendFormat.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, key: string) => result.metric[key] ?? ''),
            points: result.values.map(([time, value]) => [time - started, Number(value)] as [number, number]).filter(([, value]) => Number.isFinite(value)),
          })
        }
      }
      const threshold = panel.fieldConfig.defaults.thresholds?.steps.find((step) => step.value !== null)?.value ?? null
      panels.push({ title: panel.title, gridPos: panel.gridPos, unit: panel.fieldConfig.defaults.unit, threshold, series })
    }
    const html = renderDashboard(dashboard.title, panels, { from: new Date(started * 1000), to: new Date(ended * 1000) })
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
    try {
      const page = await browser.newPage({ viewport: { width: 1600, height: 900 }, deviceScaleFactor: 1 })
      await page.setContent(html)
      await mkdir(path.dirname(OUTPUT), { recursive: true })
      await page.screenshot({ path: OUTPUT, fullPage: true })
    } finally {
      await browser.close()
    }
    for (const panel of panels) {
      const last = panel.series.map((entry) => `${entry.label || '-'}=${entry.points.at(-1)?.[1]?.toPrecision(3) ?? 'none'}`).join(', ')
      console.log(`${panel.title}: ${last || 'no data'}`)
    }
    console.error(`wrote ${path.relative(ROOT, OUTPUT)}`)
  } finally {
    await prometheus.stop('SIGTERM', 5_000)
    await server.dispose()
    await work.remove()
  }
}

/**
 * What the gate has to judge, every second until `durationMs`: a rejected currency, a held figure,
 * and a due date two users set in the same tick (neither saw the other's: a concurrent overwrite).
 */
const judgedTrickle = async (url: string, httpUrl: string, durationMs: number): Promise<void> => {
  const clients: StockClient[] = []
  const connect = async (user: string) => {
    const client = connectStockClient(url, 'proposal/dash-judged', { params: { token: await fetchDevToken(httpUrl, { user, role: 'editor' }) } })
    clients.push(client)
    await client.whenSynced()
    return client
  }
  try {
    const [ana, ben] = [await connect('ana'), await connect('ben')]
    const end = Date.now() + durationMs
    for (let round = 0; Date.now() < end; round++) {
      ana.doc.getMap('meta').set('currency', round % 2 === 0 ? 'euro' : 'dollars')
      ben.doc.getMap('financial').set('value', 10_000 + round)
      const day = String((round % 27) + 1).padStart(2, '0')
      ana.doc.getMap('meta').set('dueDate', `2027-01-${day}`)
      ben.doc.getMap('meta').set('dueDate', `2027-02-${day}`)
      await new Promise((resolve) => setTimeout(resolve, 1_000))
    }
  } finally {
    for (const client of clients) client.destroy()
  }
}

await main()
