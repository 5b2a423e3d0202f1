import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, test } from 'node:test'
import { eventually } from '../../shared/testing/eventually.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { clockOf, connectAckedClient } from '../testing/ackedClient.ts'
import { startServer } from '../testing/startServer.ts'
import { metricsReadBy, servedIn } from './metricNames.ts'

/**
 * The Prometheus alert rules (ops/prometheus/alerts.yml): valid for promtool, each one firing on
 * its synthetic series and quiet on a healthy one (alerts.test.yml), every metric they use served
 * by a real server's /metrics, and a runbook for each in README.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const RULES = path.join(ROOT, 'ops/prometheus/alerts.yml')
const RULE_TESTS = path.join(ROOT, 'ops/prometheus/alerts.test.yml')
const PROMTOOL = ['/usr/bin/promtool', ...(process.env.PATH ?? '').split(':').map((dir) => path.join(dir, 'promtool'))].find((candidate) => existsSync(candidate))

const promtool = (args: string[]) =>
  new Promise<{ code: number; output: string }>((resolve) => {
    assert.ok(PROMTOOL, 'promtool is missing: install Debian\'s "prometheus" package (.ci/run does when it is missing)')
    execFile(PROMTOOL, args, { cwd: path.dirname(RULES) }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    )
  })

const rulesText = readFileSync(RULES, 'utf8')
const alertNames = [...rulesText.matchAll(/^\s*- alert: (\w+)$/gm)].map((match) => match[1]!)
/** Metric names in the rules' expressions (the server's own, Node's and the process's). */
const metricNames = [...new Set([...rulesText.matchAll(/expr:[^\n]*(?:\n {10}[^\n]*)*/g)].flatMap((expr) => metricsReadBy(expr[0])))]

const cleanups: Array<() => Promise<unknown>> = []
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

test('promtool accepts the rules and every alert fires on its bad series and stays quiet on the healthy one', async () => {
  const checked = await promtool(['check', 'rules', RULES])
  assert.equal(checked.code, 0, checked.output)
  assert.match(checked.output, new RegExp(`SUCCESS: ${alertNames.length} rules found`))
  const tested = await promtool(['test', 'rules', RULE_TESTS])
  assert.equal(tested.code, 0, tested.output)
})

test('every alert is tested firing, and has a runbook in README', () => {
  const tests = readFileSync(RULE_TESTS, 'utf8')
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  assert.ok(alertNames.length >= 10, `alerts: ${alertNames.join(', ')}`)
  for (const name of alertNames) {
    assert.match(tests, new RegExp(`alertname: ${name}\\n\\s+exp_alerts:\\n\\s+- exp_labels: \\{[^}]*instance: bad`), `${name} is tested firing for the bad instance`)
    const anchor = /runbook: README\.md#(\w+)/.exec(rulesText.slice(rulesText.indexOf(`alert: ${name}`)))?.[1]
    assert.ok(anchor, `${name} names its runbook`)
    assert.ok(readme.toLowerCase().includes(`#### ${anchor}`), `README has the runbook heading for ${name} (#${anchor})`)
  }
})

test("every metric the rules use is in a running server's /metrics", async () => {
  const backupDir = await tempDir('posalpro-alert-metrics-')
  cleanups.push(() => backupDir.remove())
  const server = await startServer({ backupDir: backupDir.path, backupIntervalMs: 3_600_000 })
  cleanups.push(() => server.dispose())
  // One update, so the labelled update counter has a series.
  const writer = await connectAckedClient(server, 'proposal/p-metrics')
  writer.doc.getMap('meta').set('title', 'Metrics')
  await eventually(() => assert.ok(clockOf(writer.acks.at(-1), writer.doc.clientID) >= 1, 'acknowledged'))
  writer.destroy()
  await eventually(async () => {
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text()
    assert.ok(metricNames.length >= 15, `names: ${metricNames.join(', ')}`)
    for (const name of metricNames) assert.ok(servedIn(metrics, name), `${name} is served`)
  })
})
