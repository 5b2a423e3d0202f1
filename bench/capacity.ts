/**
 * `npm run bench:capacity`: how many documents and connections one node holds before its first-peer
 * latency p99 passes 100 ms. One server process (embedded LevelDB, validation gate on, started
 * fresh as every bench server is), documents added in steps (each with `--clients-per-doc` stock
 * providers, one of them typing a character every `--typing-interval-ms`, as a quiet editing
 * session does); at each step, with that typing going on, a probe document's first-peer latency
 * is measured (200 inserts, one every 25 ms), with the server's RSS and CPU over the probe. It
 * stops at the first step whose p99 passes the target, or at the last step (bounded by
 * `--max-connections`).
 *
 *   npm run bench:capacity -- [--steps 250,500,1000,2000] [--clients-per-doc 2]
 *                             [--typing-interval-ms 2000] [--target-p99-ms 100] [--connect-rate 200]
 *                             [--max-connections 4000] [--json]
 */
import { parseArgs } from 'node:util'
import { CAPACITY_DEFAULTS, runCapacity, type CapacityOptions } from './cluster/capacity.ts'
import { killRunningServers, startBenchServer } from './serverProcess.ts'

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '250,500,1000,2000' },
    'clients-per-doc': { type: 'string', default: String(CAPACITY_DEFAULTS.clientsPerDoc) },
    'typing-interval-ms': { type: 'string', default: String(CAPACITY_DEFAULTS.typingIntervalMs) },
    'target-p99-ms': { type: 'string', default: String(CAPACITY_DEFAULTS.targetP99Ms) },
    'connect-rate': { type: 'string', default: String(CAPACITY_DEFAULTS.connectRate) },
    'max-connections': { type: 'string', default: '4000' },
    json: { type: 'boolean', default: false },
  },
})

const positive = (name: string, text: string): number => {
  const value = Number(text)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got ${text}`)
  return value
}

const clientsPerDoc = Math.floor(positive('clients-per-doc', values['clients-per-doc']))
const maxConnections = Math.floor(positive('max-connections', values['max-connections']))
const capacity: CapacityOptions = {
  // Bounded: no step beyond --max-connections.
  steps: values.steps
    .split(',')
    .map((step) => Math.floor(positive('steps', step)))
    .filter((documents) => documents * clientsPerDoc <= maxConnections),
  clientsPerDoc,
  typingIntervalMs: positive('typing-interval-ms', values['typing-interval-ms']),
  targetP99Ms: positive('target-p99-ms', values['target-p99-ms']),
  connectRate: positive('connect-rate', values['connect-rate']),
}
const log = (line: string) => process.stderr.write(`${line}\n`)

process.on('exit', killRunningServers)
const server = await startBenchServer({ validationGate: true })
const result = await runCapacity({ name: 'server', url: server.url, httpUrl: server.httpUrl, pid: server.pid }, capacity, Date.now().toString(36), log).finally(() => server.stop())
if (values.json) {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
} else {
  process.stdout.write('| documents | connections | first peer p50 / p99 ms | server cores | server RSS MiB | generator cores | others cores |\n|---|---|---|---|---|---|---|\n')
  for (const step of result.steps) {
    process.stdout.write(
      `| ${step.documents} | ${step.connections} | ${step.firstPeerMs.p50} / ${step.firstPeerMs.p99} | ${step.nodeCores} | ${step.nodeRssMiB} | ${step.generatorCores} | ${step.otherCores} |\n`,
    )
  }
  const { withinTarget } = result
  process.stdout.write(
    withinTarget
      ? `within p99 ≤ ${capacity.targetP99Ms} ms: ${withinTarget.documents} documents, ${withinTarget.connections} connections\n`
      : `the first step already passed p99 ${capacity.targetP99Ms} ms\n`,
  )
}
