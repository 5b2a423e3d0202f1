import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { machineFacts, packageVersions, renderReport, writeReport, type BenchReport, type ScenarioFailure, type ScenarioName, type ScenarioResult } from './report.ts'
import type { ScenarioContext } from './scenario.ts'
import { FANOUT_DEFAULTS, runFanout, type FanoutOptions } from './scenarios/fanout.ts'
import { GATE_DEFAULTS, runGate, type GateOptions } from './scenarios/gate.ts'
import { OFFLINE_BATCH_DEFAULTS, runOfflineBatch, type OfflineBatchOptions } from './scenarios/offlineBatch.ts'
import { killRunningServers } from './serverProcess.ts'

/**
 * `npm run bench [-- options]`: runs the scenarios one after another, each against its own freshly
 * started server process, prints a table and one JSON object to stdout (progress goes to stderr)
 * and writes the JSON to bench/results/<timestamp>.json.
 * Exit code: 0 ok, 1 a scenario failed with an error, 3 a correctness check failed.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const SCENARIOS: readonly ScenarioName[] = ['gate', 'offline-batch', 'fanout']

const HELP = `usage: npm run bench [-- options]

Runs load scenarios against the real server (server/main.ts in its own process, fresh temp data
dir, 127.0.0.1), prints a table and a JSON object, and writes bench/results/<timestamp>.json.

  --scenario LIST          comma-separated: ${SCENARIOS.join(',')} (default: all)
  --seed N                 seed of the random edit sequences (default 1)
  --out DIR                where the JSON goes (default bench/results)
  --help

gate (the throughput workload, with COLLAB_VALIDATION_GATE=true and then false):
  --docs N                 proposals (default ${GATE_DEFAULTS.docs})
  --clients-per-doc N      editors per proposal (default ${GATE_DEFAULTS.clientsPerDoc})
  --duration S             measured seconds of load (default ${GATE_DEFAULTS.durationSec})
  --warmup S               seconds of load before measuring (default ${GATE_DEFAULTS.warmupSec})
  --window N               pause a client while > N of its ops are not at every peer; 0 = off (default ${GATE_DEFAULTS.window})
  --title-every N          1 op in N sets meta.title, the rest insert one character (default ${GATE_DEFAULTS.titleEvery})
  --settle-timeout MS      wait for convergence after the load (default ${GATE_DEFAULTS.settleTimeoutMs})
  --rounds N               runs per setting, alternating which goes first (default ${GATE_DEFAULTS.rounds})

offline-batch (reconnect of a manager with a batch of offline changes, gate on and off):
  --changes N              changes made offline (default ${OFFLINE_BATCH_DEFAULTS.changes})
  --invalid N              of them rule-breaking (default ${OFFLINE_BATCH_DEFAULTS.invalid})
  --repeats N              batches per gate setting (default ${OFFLINE_BATCH_DEFAULTS.repeats})
  --batch-timeout MS       wait for one batch's ack (default ${OFFLINE_BATCH_DEFAULTS.timeoutMs})

fanout (latency of one insert to every peer, gate on):
  --fanout-clients N       editors on the one proposal (default ${FANOUT_DEFAULTS.clients})
  --interval MS            one insert every MS, round-robin (default ${FANOUT_DEFAULTS.intervalMs})
  --updates N              measured inserts (default ${FANOUT_DEFAULTS.updates})
  --fanout-warmup N        unmeasured inserts first (default ${FANOUT_DEFAULTS.warmup})
  --fanout-timeout MS      later than this counts as undelivered (default ${FANOUT_DEFAULTS.timeoutMs})

Exit code: 0 ok, 1 a scenario failed with an error, 3 a correctness check failed
(replicas not converged, inserts undelivered, connections closed by the server).
`

const NUMBER_FLAGS = [
  'seed', 'docs', 'clients-per-doc', 'duration', 'warmup', 'window', 'title-every', 'settle-timeout', 'rounds',
  'changes', 'invalid', 'repeats', 'batch-timeout',
  'fanout-clients', 'interval', 'updates', 'fanout-warmup', 'fanout-timeout',
] as const
type NumberFlag = (typeof NUMBER_FLAGS)[number]

class UsageError extends Error {}

interface Cli {
  readonly scenarios: ScenarioName[]
  readonly seed: number
  readonly outDir: string
  readonly gate: GateOptions
  readonly offlineBatch: OfflineBatchOptions
  readonly fanout: FanoutOptions
}

const parseCli = (argv: readonly string[]): Cli | 'help' => {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      scenario: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean' },
      ...Object.fromEntries(NUMBER_FLAGS.map((flag) => [flag, { type: 'string' as const }])),
    },
  })
  if (values.help) return 'help'
  const raw = values as Record<string, string | boolean | undefined>
  /** A non-negative number flag (at least `min`), or the default. */
  const num = (flag: NumberFlag, fallback: number, { min = 1, integer = true } = {}): number => {
    const value = raw[flag]
    if (value === undefined) return fallback
    const parsed = Number(value)
    if (typeof value !== 'string' || !Number.isFinite(parsed) || parsed < min || (integer && !Number.isInteger(parsed))) {
      throw new UsageError(`--${flag} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}, got "${String(value)}"`)
    }
    return parsed
  }
  const scenarios = (values.scenario ?? SCENARIOS.join(',')).split(',').map((name) => name.trim()).filter(Boolean)
  for (const name of scenarios) {
    if (!(SCENARIOS as readonly string[]).includes(name)) throw new UsageError(`unknown scenario "${name}" (known: ${SCENARIOS.join(', ')})`)
  }
  const changes = num('changes', OFFLINE_BATCH_DEFAULTS.changes)
  const invalid = num('invalid', OFFLINE_BATCH_DEFAULTS.invalid, { min: 0 })
  if (invalid > changes) throw new UsageError('--invalid cannot exceed --changes')
  return {
    scenarios: [...new Set(scenarios)] as ScenarioName[],
    seed: num('seed', 1, { min: 0 }),
    outDir: path.resolve(values.out ?? path.join(ROOT, 'bench/results')),
    gate: {
      docs: num('docs', GATE_DEFAULTS.docs),
      clientsPerDoc: num('clients-per-doc', GATE_DEFAULTS.clientsPerDoc),
      durationSec: num('duration', GATE_DEFAULTS.durationSec, { integer: false, min: 0.1 }),
      warmupSec: num('warmup', GATE_DEFAULTS.warmupSec, { integer: false, min: 0 }),
      window: num('window', GATE_DEFAULTS.window, { min: 0 }),
      titleEvery: num('title-every', GATE_DEFAULTS.titleEvery),
      settleTimeoutMs: num('settle-timeout', GATE_DEFAULTS.settleTimeoutMs),
      rounds: num('rounds', GATE_DEFAULTS.rounds),
    },
    offlineBatch: { changes, invalid, repeats: num('repeats', OFFLINE_BATCH_DEFAULTS.repeats), timeoutMs: num('batch-timeout', OFFLINE_BATCH_DEFAULTS.timeoutMs) },
    fanout: {
      clients: num('fanout-clients', FANOUT_DEFAULTS.clients, { min: 2 }),
      intervalMs: num('interval', FANOUT_DEFAULTS.intervalMs, { integer: false, min: 0 }),
      updates: num('updates', FANOUT_DEFAULTS.updates),
      warmup: num('fanout-warmup', FANOUT_DEFAULTS.warmup, { min: 0 }),
      timeoutMs: num('fanout-timeout', FANOUT_DEFAULTS.timeoutMs),
    },
  }
}

const runScenario = (name: ScenarioName, cli: Cli, context: ScenarioContext): Promise<ScenarioResult> => {
  switch (name) {
    case 'gate':
      return runGate(cli.gate, context)
    case 'offline-batch':
      return runOfflineBatch(cli.offlineBatch, context)
    case 'fanout':
      return runFanout(cli.fanout, context)
  }
}

const main = async (): Promise<number> => {
  let cli: Cli | 'help'
  try {
    cli = parseCli(process.argv.slice(2))
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${HELP}`)
    return 2
  }
  if (cli === 'help') {
    console.log(HELP)
    return 0
  }

  // Every WebsocketProvider adds a process 'exit' listener; dozens of clients are the point here.
  process.setMaxListeners(0)
  process.on('exit', killRunningServers)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killRunningServers()
      process.exit(130)
    })
  }

  const startedAt = new Date()
  const t0 = performance.now()
  const context: ScenarioContext = { seed: cli.seed, log: (message) => console.error(`[bench] ${message}`) }
  const results: ScenarioResult[] = []
  const failures: ScenarioFailure[] = []
  for (const name of cli.scenarios) {
    context.log(`scenario ${name}`)
    try {
      results.push(await runScenario(name, cli, context))
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error)
      context.log(`${name} FAILED: ${message}`)
      failures.push({ scenario: name, error: message })
    }
  }

  const report: BenchReport = {
    startedAt: startedAt.toISOString(),
    durationSec: Math.round((performance.now() - t0) / 1000),
    machine: machineFacts(),
    versions: packageVersions(ROOT),
    seed: cli.seed,
    results,
    failures,
    ok: failures.length === 0 && results.every((result) => result.ok),
  }
  console.log(renderReport(report))
  console.log()
  console.log(JSON.stringify(report))
  context.log(`results written to ${path.relative(process.cwd(), writeReport(report, cli.outDir))}`)
  return failures.length > 0 ? 1 : report.ok ? 0 : 3
}

const code = await main()
process.exitCode = code
// Every client and server was closed; should a handle still hold the event loop, do not hang the caller.
setTimeout(() => {
  console.error('[bench] forcing exit (open handles left)')
  process.exit(code)
}, 3000).unref()
