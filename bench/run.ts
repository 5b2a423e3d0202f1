import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { machineFacts, packageVersions, renderReport, writeReport, type BenchReport, type ScenarioFailure, type ScenarioName, type ScenarioResult } from './report.ts'
import type { ScenarioContext } from './scenario.ts'
import { COLDLOAD_DEFAULTS, runColdload, type ColdloadOptions } from './scenarios/coldload.ts'
import { CONNECTIONS_DEFAULTS, runConnections, type ConnectionsOptions } from './scenarios/connections.ts'
import { RESTART_DEFAULTS, runRestart, type RestartOptions } from './scenarios/restart.ts'
import { FANOUT_DEFAULTS, runFanout, type FanoutOptions } from './scenarios/fanout.ts'
import { GATE_DEFAULTS, runGate, type GateOptions } from './scenarios/gate.ts'
import { OFFLINE_MERGE_DEFAULTS, runOfflineMerge, type OfflineMergeOptions } from './scenarios/offlineMerge.ts'
import { runThroughput, THROUGHPUT_DEFAULTS, type ThroughputOptions } from './scenarios/throughput.ts'
import { givenServer, killRunningServers, spawnedServers, type ServerTarget } from './serverProcess.ts'

/**
 * `npm run bench [-- options]`: runs the scenarios one after another, each against its own freshly
 * started server process, prints a table and one JSON object to stdout (progress goes to stderr)
 * and writes the JSON to bench/results/<timestamp>.json.
 * Exit code: 0 ok, 1 a scenario failed with an error, 3 a correctness check failed.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const SCENARIOS: readonly ScenarioName[] = ['fanout', 'throughput', 'coldload', 'connections', 'restart', 'offline-merge', 'gate']
/** Earlier names, still accepted. */
const ALIASES: Readonly<Record<string, ScenarioName>> = { 'offline-batch': 'offline-merge' }

const HELP = `usage: npm run bench [-- options]

Runs load scenarios against the real server (server/main.ts in its own process, fresh temp data
dir, 127.0.0.1), prints a table and a JSON object, and writes bench/results/<timestamp>.json.

  --scenario LIST          comma-separated: ${SCENARIOS.join(',')} (default: all)
  --seed N                 seed of the random edit sequences (default 1)
  --out DIR                where the JSON goes (default bench/results)
  --help

the server (default: the bench starts a fresh one per scenario run):
  --url ws://HOST:PORT     measure a server that is already running on this machine instead (dev mode
                           for /dev/token, rate limits raised); gate is skipped, coldload waits for an unload
  --server-pid PID         its pid, for CPU and RSS (default: the process listening on the port)
  --url-gate on|off        its COLLAB_VALIDATION_GATE setting, for the report (default on)

fanout (latency of one insert to every peer, gate on):
  --fanout-clients N       editors on the one proposal (default ${FANOUT_DEFAULTS.clients})
  --interval MS            one insert every MS, round-robin (default ${FANOUT_DEFAULTS.intervalMs})
  --updates N              measured inserts (default ${FANOUT_DEFAULTS.updates})
  --fanout-warmup N        unmeasured inserts first (default ${FANOUT_DEFAULTS.warmup})
  --fanout-timeout MS      later than this counts as undelivered (default ${FANOUT_DEFAULTS.timeoutMs})

throughput (the typing workload below, gate on, durable writes):
  --throughput-docs N      proposals (default ${THROUGHPUT_DEFAULTS.docs})
  --throughput-clients N   editors per proposal (default ${THROUGHPUT_DEFAULTS.clientsPerDoc})
  --throughput-duration S  measured seconds (default ${THROUGHPUT_DEFAULTS.durationSec})

coldload (a big document, server restarted, time until a fresh client has it all):
  --coldload-updates N     inserts written, one update message each (default ${COLDLOAD_DEFAULTS.updates})
  --coldload-repeats N     loads, each after a restart (default ${COLDLOAD_DEFAULTS.repeats})
  --unload-wait MS         --url only: wait for the server to unload the doc (default ${COLDLOAD_DEFAULTS.unloadWaitMs})

connections (idle connections, server memory per connection):
  --connections N          connections opened (default ${CONNECTIONS_DEFAULTS.connections})
  --connect-rate N         new connections per second (default ${CONNECTIONS_DEFAULTS.ratePerSec})
  --spread distinct|same   a doc per connection, or all on one (default ${CONNECTIONS_DEFAULTS.spread})
  --hold MS                keep them open this long before reading RSS (default ${CONNECTIONS_DEFAULTS.holdMs})
  --storms N               repeat on the same server process, new docs each time: storm 1 meets a fresh
                           process, the later ones a warm one (default ${CONNECTIONS_DEFAULTS.storms})

restart (a deploy: connected clients with content, the server stopped with SIGTERM, then with SIGKILL, and started again):
  --restart-docs N         documents (default ${RESTART_DEFAULTS.docs})
  --restart-clients N      connected clients per document (default ${RESTART_DEFAULTS.clientsPerDoc})
  --restart-updates N      inserts per document before the stop (default ${RESTART_DEFAULTS.updatesPerDoc})

offline-merge (reconnect of a manager with a batch of offline changes, gate on and off; alias offline-batch):
  --changes N              changes made offline (default ${OFFLINE_MERGE_DEFAULTS.changes})
  --invalid N              of them rule-breaking (default ${OFFLINE_MERGE_DEFAULTS.invalid})
  --repeats N              batches per gate setting (default ${OFFLINE_MERGE_DEFAULTS.repeats})
  --batch-timeout MS       wait for one batch's ack (default ${OFFLINE_MERGE_DEFAULTS.timeoutMs})

gate (the typing workload with COLLAB_VALIDATION_GATE=true and then false):
  --docs N                 proposals (default ${GATE_DEFAULTS.docs})
  --clients-per-doc N      editors per proposal (default ${GATE_DEFAULTS.clientsPerDoc})
  --duration S             measured seconds of load (default ${GATE_DEFAULTS.durationSec})
  --warmup S               seconds of load before measuring, also for throughput (default ${GATE_DEFAULTS.warmupSec})
  --window N               pause a client while > N of its ops are not at every peer; 0 = off; also throughput (default ${GATE_DEFAULTS.window})
  --title-every N          1 op in N retitles (a splice of the title text root), the rest insert one character; also throughput (default ${GATE_DEFAULTS.titleEvery})
  --settle-timeout MS      wait for convergence after the load; also throughput (default ${GATE_DEFAULTS.settleTimeoutMs})
  --rounds N               runs per setting, alternating which goes first (default ${GATE_DEFAULTS.rounds})

Exit code: 0 ok, 1 a scenario failed with an error, 2 bad usage, 3 a correctness check failed
(replicas not converged, inserts undelivered, a cold load without its full content or synced
before it, connections that did not sync or were closed by the server).
`

const NUMBER_FLAGS = [
  'seed', 'docs', 'clients-per-doc', 'duration', 'warmup', 'window', 'title-every', 'settle-timeout', 'rounds',
  'changes', 'invalid', 'repeats', 'batch-timeout',
  'fanout-clients', 'interval', 'updates', 'fanout-warmup', 'fanout-timeout',
  'throughput-docs', 'throughput-clients', 'throughput-duration',
  'coldload-updates', 'coldload-repeats', 'unload-wait',
  'connections', 'connect-rate', 'hold', 'storms',
  'restart-docs', 'restart-clients', 'restart-updates',
  'server-pid',
] as const
type NumberFlag = (typeof NUMBER_FLAGS)[number]

class UsageError extends Error {}

interface Cli {
  readonly scenarios: ScenarioName[]
  readonly seed: number
  readonly outDir: string
  readonly target: ServerTarget
  readonly gate: GateOptions
  readonly offlineMerge: OfflineMergeOptions
  readonly fanout: FanoutOptions
  readonly throughput: ThroughputOptions
  readonly coldload: ColdloadOptions
  readonly connections: ConnectionsOptions
  readonly restart: RestartOptions
}

const parseCli = (argv: readonly string[]): Cli | 'help' => {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      scenario: { type: 'string' },
      out: { type: 'string' },
      url: { type: 'string' },
      'url-gate': { type: 'string' },
      spread: { type: 'string' },
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
  const target = parseTarget(values.url, raw['server-pid'] === undefined ? null : num('server-pid', 0), values['url-gate'])
  // A given server cannot be restarted with the other gate setting: the gate scenario needs spawned servers.
  // A given server cannot be restarted either: restart needs a spawned server too.
  const defaults = target.choosesGate ? SCENARIOS : SCENARIOS.filter((name) => name !== 'gate' && name !== 'restart')
  const scenarios = (values.scenario ?? defaults.join(','))
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean)
    .map((name) => ALIASES[name] ?? name)
  for (const name of scenarios) {
    if (!(SCENARIOS as readonly string[]).includes(name)) throw new UsageError(`unknown scenario "${name}" (known: ${SCENARIOS.join(', ')})`)
  }
  if (!target.choosesGate && scenarios.includes('gate')) throw new UsageError('the gate scenario starts its own servers (gate on and off); it cannot run with --url')
  if (!target.choosesGate && scenarios.includes('restart')) throw new UsageError('the restart scenario restarts its own server; it cannot run with --url')
  const changes = num('changes', OFFLINE_MERGE_DEFAULTS.changes)
  const invalid = num('invalid', OFFLINE_MERGE_DEFAULTS.invalid, { min: 0 })
  if (invalid > changes) throw new UsageError('--invalid cannot exceed --changes')
  const spread = values.spread ?? CONNECTIONS_DEFAULTS.spread
  if (spread !== 'distinct' && spread !== 'same') throw new UsageError(`--spread must be distinct or same, got "${spread}"`)
  // The typing workload's shared knobs apply to gate and throughput alike.
  const typing = {
    warmupSec: num('warmup', GATE_DEFAULTS.warmupSec, { integer: false, min: 0 }),
    window: num('window', GATE_DEFAULTS.window, { min: 0 }),
    titleEvery: num('title-every', GATE_DEFAULTS.titleEvery),
    settleTimeoutMs: num('settle-timeout', GATE_DEFAULTS.settleTimeoutMs),
  }
  return {
    scenarios: SCENARIOS.filter((name) => scenarios.includes(name)),
    seed: num('seed', 1, { min: 0 }),
    outDir: path.resolve(values.out ?? path.join(ROOT, 'bench/results')),
    target,
    gate: {
      ...typing,
      docs: num('docs', GATE_DEFAULTS.docs),
      clientsPerDoc: num('clients-per-doc', GATE_DEFAULTS.clientsPerDoc),
      durationSec: num('duration', GATE_DEFAULTS.durationSec, { integer: false, min: 0.1 }),
      rounds: num('rounds', GATE_DEFAULTS.rounds),
    },
    throughput: {
      ...typing,
      docs: num('throughput-docs', THROUGHPUT_DEFAULTS.docs),
      clientsPerDoc: num('throughput-clients', THROUGHPUT_DEFAULTS.clientsPerDoc),
      durationSec: num('throughput-duration', THROUGHPUT_DEFAULTS.durationSec, { integer: false, min: 0.1 }),
    },
    coldload: {
      updates: num('coldload-updates', COLDLOAD_DEFAULTS.updates),
      repeats: num('coldload-repeats', COLDLOAD_DEFAULTS.repeats),
      timeoutMs: COLDLOAD_DEFAULTS.timeoutMs,
      unloadWaitMs: num('unload-wait', COLDLOAD_DEFAULTS.unloadWaitMs, { min: 0 }),
    },
    connections: {
      connections: num('connections', CONNECTIONS_DEFAULTS.connections),
      ratePerSec: num('connect-rate', CONNECTIONS_DEFAULTS.ratePerSec),
      spread,
      holdMs: num('hold', CONNECTIONS_DEFAULTS.holdMs, { min: 0 }),
      timeoutMs: CONNECTIONS_DEFAULTS.timeoutMs,
      storms: num('storms', CONNECTIONS_DEFAULTS.storms),
    },
    restart: {
      ...RESTART_DEFAULTS,
      docs: num('restart-docs', RESTART_DEFAULTS.docs),
      clientsPerDoc: num('restart-clients', RESTART_DEFAULTS.clientsPerDoc),
      updatesPerDoc: num('restart-updates', RESTART_DEFAULTS.updatesPerDoc),
    },
    offlineMerge: { changes, invalid, repeats: num('repeats', OFFLINE_MERGE_DEFAULTS.repeats), timeoutMs: num('batch-timeout', OFFLINE_MERGE_DEFAULTS.timeoutMs) },
    fanout: {
      clients: num('fanout-clients', FANOUT_DEFAULTS.clients, { min: 2 }),
      intervalMs: num('interval', FANOUT_DEFAULTS.intervalMs, { integer: false, min: 0 }),
      updates: num('updates', FANOUT_DEFAULTS.updates),
      warmup: num('fanout-warmup', FANOUT_DEFAULTS.warmup, { min: 0 }),
      timeoutMs: num('fanout-timeout', FANOUT_DEFAULTS.timeoutMs),
    },
  }
}

/** The servers to measure: started by the bench (default), or the one at `--url`. */
const parseTarget = (url: string | undefined, serverPid: number | null, gate: string | undefined): ServerTarget => {
  if (url === undefined) {
    if (serverPid !== null || gate !== undefined) throw new UsageError('--server-pid and --url-gate go with --url')
    return spawnedServers
  }
  if (gate !== undefined && gate !== 'on' && gate !== 'off') throw new UsageError(`--url-gate must be on or off, got "${gate}"`)
  try {
    return givenServer({ url, serverPid, validationGate: gate !== 'off' })
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
}

const runScenario = (name: ScenarioName, cli: Cli, context: ScenarioContext): Promise<ScenarioResult> => {
  switch (name) {
    case 'gate':
      return runGate(cli.gate, context)
    case 'offline-merge':
      return runOfflineMerge(cli.offlineMerge, context)
    case 'fanout':
      return runFanout(cli.fanout, context)
    case 'throughput':
      return runThroughput(cli.throughput, context)
    case 'coldload':
      return runColdload(cli.coldload, context)
    case 'connections':
      return runConnections(cli.connections, context)
    case 'restart':
      return runRestart(cli.restart, context)
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
  const context: ScenarioContext = {
    seed: cli.seed,
    target: cli.target,
    runId: startedAt.getTime().toString(36),
    log: (message) => console.error(`[bench] ${message}`),
  }
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
    server: cli.target.description,
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
