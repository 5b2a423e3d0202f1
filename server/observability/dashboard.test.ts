import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { metricsReadBy, servedMetricNames } from './metricNames.ts'

interface Dashboard {
  readonly panels: ReadonlyArray<{ readonly title: string; readonly targets: ReadonlyArray<{ readonly expr: string }> }>
}

const dashboard = JSON.parse(readFileSync(new URL('../../ops/grafana/posalpro-collab.json', import.meta.url), 'utf8')) as Dashboard

test('the Grafana dashboard reads only metrics the server serves, and every panel reads one', async () => {
  const served = await servedMetricNames()
  for (const panel of dashboard.panels) {
    const read = panel.targets.flatMap((target) => metricsReadBy(target.expr))
    assert.ok(read.length > 0, `panel "${panel.title}" reads no metric`)
    for (const name of read) assert.ok(served.has(name), `panel "${panel.title}" reads ${name}, which no server serves`)
  }
})

test('every panel follows the node selector', () => {
  for (const panel of dashboard.panels) {
    for (const target of panel.targets) assert.match(target.expr, /instance=~"\$instance"/, `panel "${panel.title}": ${target.expr}`)
  }
})
