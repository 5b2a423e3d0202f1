import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { mkdirSync, writeFileSync } from 'node:fs'
import { machineFacts, packageVersions, type MachineFacts } from '../report.ts'
import { killRunningServers } from '../serverProcess.ts'
import { startBenchCluster, clusterModeAvailable, type BenchCluster } from './benchCluster.ts'
import { CAPACITY_DEFAULTS, runCapacity, type CapacityResult } from './capacity.ts'
import { FAILOVER_DEFAULTS, runFailover, type FailoverResult } from './failover.ts'
import { LATENCY_DEFAULTS, runLatency, type LatencyResult } from './latency.ts'
import { runStores, STORES_DEFAULTS, type StoresResult } from './stores.ts'
import { CLUSTER_THROUGHPUT_DEFAULTS, runClusterThroughput, type ClusterThroughputResult } from './clusterThroughput.ts'

/**
 * `npm run bench:cluster [-- options]`: the cluster's figures on this machine, on a throwaway
 * PostgreSQL and Redis and real node processes. Prints a table and one JSON object to stdout
 * (progress on stderr), writes bench/results/cluster-<timestamp>.json.
 * Exit code: 0 ok, 1 a part failed with an error, 2 bad usage, 3 a correctness check failed
 * (acknowledged updates lost in failover, inserts undelivered, replicas not converged).
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const PARTS = ['latency', 'failover', 'stores', 'capacity', 'throughput'] as const
type Part = (typeof PARTS)[number]
/** The parts that need cluster mode in the server (leases, forwarding). */
const NEEDS_CLUSTER_MODE: ReadonlySet<Part> = new Set(['latency', 'failover', 'capacity', 'throughput'])

const HELP = `usage: npm run bench:cluster [-- options]

On a throwaway PostgreSQL and Redis and three real node processes (server/main.ts, dev mode, rate
limits raised), prints a table and a JSON object, and writes bench/results/cluster-<timestamp>.json.

  --part LIST               comma-separated: ${PARTS.join(',')} (default: all)
  --seed N                  seed of the typing workload (default 1)
  --out DIR                 where the JSON goes (default bench/results)

latency (a: first-peer latency on the owner vs on a forwarding node):
  --latency-inserts N       measured inserts per case (default ${LATENCY_DEFAULTS.inserts})
failover (b: kill -9 the owner, time until a write is acknowledged again, lost acknowledged updates):
  --rounds N                rounds, at least 10 for the report's figures (default ${FAILOVER_DEFAULTS.rounds})
stores (c: typing workload on one node, PostgreSQL store vs LevelDB store):
  --stores-docs N           documents (default ${STORES_DEFAULTS.docs}), ${STORES_DEFAULTS.clientsPerDoc} editors each
  --stores-duration S       measured seconds per store (default ${STORES_DEFAULTS.durationSec})
capacity (d: documents and connections on one node until first-peer p99 passes the target):
  --capacity-steps LIST     documents per step (default ${CAPACITY_DEFAULTS.steps.join(',')})
  --target-p99 MS           the latency target (default ${CAPACITY_DEFAULTS.targetP99Ms})
throughput (e: the typing workload spread over the three nodes, the whole cluster's CPU per op):
  --throughput-docs N       documents (default ${CLUSTER_THROUGHPUT_DEFAULTS.docs}), ${CLUSTER_THROUGHPUT_DEFAULTS.clientsPerDoc} editors each, editor k of doc d on node (d + k) mod 3
  --first-editor-first      connect each document's first editor before the others (default: all
                            at once, each new document opened on every node together)

latency, failover, capacity and throughput need cluster mode in the server (--redis-url, --node-id,
--advertise-url); without it they are skipped with a note.
  --without-cluster-mode    run them anyway, on nodes that share only the database: a smoke test of
                            the bench itself (no forwarding, no leases: the figures mean nothing)
`

class UsageError extends Error {}

interface Cli {
  readonly parts: Part[]
  readonly seed: number
  readonly outDir: string
  readonly latencyInserts: number
  readonly rounds: number
  readonly storesDocs: number
  readonly storesDuration: number
  readonly capacitySteps: number[]
  readonly targetP99: number
  readonly throughputDocs: number
  readonly firstEditorFirst: boolean
  readonly withoutClusterMode: boolean
}

const parseCli = (argv: readonly string[]): Cli | 'help' => {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      part: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      'latency-inserts': { type: 'string' },
      rounds: { type: 'string' },
      'stores-docs': { type: 'string' },
      'stores-duration': { type: 'string' },
      'capacity-steps': { type: 'string' },
      'target-p99': { type: 'string' },
      'throughput-docs': { type: 'string' },
      'first-editor-first': { type: 'boolean' },
      'without-cluster-mode': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  })
  if (values.help) return 'help'
  const positive = (flag: string, value: string | undefined, fallback: number): number => {
    if (value === undefined) return fallback
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`--${flag} must be a positive integer, got "${value}"`)
    return Number(value)
  }
  const parts = (values.part ?? PARTS.join(',')).split(',').map((part) => part.trim()).filter(Boolean)
  for (const part of parts) if (!(PARTS as readonly string[]).includes(part)) throw new UsageError(`unknown part "${part}" (known: ${PARTS.join(', ')})`)
  const steps = values['capacity-steps']?.split(',').map((step) => positive('capacity-steps', step.trim(), 1)) ?? [...CAPACITY_DEFAULTS.steps]
  return {
    parts: parts as Part[],
    seed: positive('seed', values.seed, 1),
    outDir: path.resolve(values.out ?? path.join(ROOT, 'bench/results')),
    latencyInserts: positive('latency-inserts', values['latency-inserts'], LATENCY_DEFAULTS.inserts),
    rounds: positive('rounds', values.rounds, FAILOVER_DEFAULTS.rounds),
    storesDocs: positive('stores-docs', values['stores-docs'], STORES_DEFAULTS.docs),
    storesDuration: positive('stores-duration', values['stores-duration'], STORES_DEFAULTS.durationSec),
    capacitySteps: steps.sort((a, b) => a - b),
    targetP99: positive('target-p99', values['target-p99'], CAPACITY_DEFAULTS.targetP99Ms),
    throughputDocs: positive('throughput-docs', values['throughput-docs'], CLUSTER_THROUGHPUT_DEFAULTS.docs),
    firstEditorFirst: values['first-editor-first'] ?? false,
    withoutClusterMode: values['without-cluster-mode'] ?? false,
  }
}

type PartResult = LatencyResult | FailoverResult | StoresResult | CapacityResult | ClusterThroughputResult

interface ClusterReport {
  readonly startedAt: string
  readonly durationSec: number
  readonly machine: MachineFacts
  readonly versions: Record<string, string>
  readonly seed: number
  readonly clusterMode: boolean
  readonly results: PartResult[]
  readonly skipped: Array<{ part: Part; why: string }>
  readonly failures: Array<{ part: Part; error: string }>
  readonly ok: boolean
}

const ms = (value: number) => (Number.isFinite(value) ? `${value} ms` : '—')

const renderPart = (result: PartResult): string[] => {
  switch (result.part) {
    case 'latency':
      return [
        '(a) first-peer latency, one sender and one receiver on the same node',
        `    on the owner            p50 ${ms(result.onOwner.firstPeerMs.p50)}  p99 ${ms(result.onOwner.firstPeerMs.p99)}  max ${ms(result.onOwner.firstPeerMs.max)}  undelivered ${result.onOwner.undelivered}`,
        `    on a forwarding node    p50 ${ms(result.onForwardingNode.firstPeerMs.p50)}  p99 ${ms(result.onForwardingNode.firstPeerMs.p99)}  max ${ms(result.onForwardingNode.firstPeerMs.max)}  undelivered ${result.onForwardingNode.undelivered}`,
      ]
    case 'failover':
      return [
        `(b) failover, ${result.rounds.length} rounds: kill -9 the owner → a write acknowledged again through another node`,
        `    p50 ${ms(result.failoverMs.p50)}  max ${ms(result.failoverMs.max)}  acknowledged updates lost: ${result.lostAcknowledged} (must be 0)`,
      ]
    case 'stores':
      return [
        `(c) typing workload on one node, ${result.params.docs} docs × ${result.params.clientsPerDoc} editors, ${result.params.durationSec} s measured`,
        '    store     ops/s  delivered/s  node µs/op  PostgreSQL µs/op  node cores  generator cores  others  converged',
        ...result.runs.map(
          (run) =>
            `    ${run.store.padEnd(8)}  ${String(run.opsPerSec).padStart(5)}  ${String(run.deliveredOpsPerSec).padStart(11)}  ${String(run.serverCpuUsPerOp).padStart(10)}  ${String(run.postgresCpuUsPerOp ?? '—').padStart(16)}  ${String(run.serverCoresDuringLoad).padStart(10)}  ${String(run.generator.coresUsed).padStart(15)}  ${String(run.machine.otherCores).padStart(6)}  ${run.convergedDocs}/${run.docs}`,
        ),
      ]
    case 'capacity':
      return [
        `(d) node capacity (first-peer p99 target ${result.params.targetP99Ms} ms): ${result.withinTarget ? `${result.withinTarget.documents} documents, ${result.withinTarget.connections} connections within it` : 'the first step already passed it'}`,
        '    documents  connections  p50     p99     node cores  RSS MiB  generator cores',
        ...result.steps.map(
          (step) =>
            `    ${String(step.documents).padStart(9)}  ${String(step.connections).padStart(11)}  ${ms(step.firstPeerMs.p50).padEnd(6)}  ${ms(step.firstPeerMs.p99).padEnd(6)}  ${String(step.nodeCores).padStart(10)}  ${String(step.nodeRssMiB).padStart(7)}  ${String(step.generatorCores).padStart(15)}`,
        ),
      ]
    case 'throughput': {
      const { run } = result
      return [
        `(e) typing workload over ${result.nodes} nodes, ${result.params.docs} docs × ${result.params.clientsPerDoc} editors (editor k of doc d on node (d + k) mod ${result.nodes}, ${result.params.firstEditorFirst ? 'first editor first' : 'all at once'}), ${result.params.durationSec} s measured; ${run.serverCloses} server closes`,
        `    ${run.opsPerSec} ops/s sent, ${run.deliveredOpsPerSec} delivered/s; cluster ${result.clusterCpuUsPerOp} µs/op (nodes ${result.cpuUsPerOp.nodes}, PostgreSQL ${result.cpuUsPerOp.postgres}, Redis ${result.cpuUsPerOp.redis}), ${result.clusterCores} cores; generator ${run.generator.coresUsed} cores, others ${run.machine.otherCores}; converged ${run.convergedDocs}/${run.docs}`,
      ]
    }
  }
}

const render = (report: ClusterReport): string => {
  const m = report.machine
  const lines = [
    `PosalPro Collab cluster bench — ${report.startedAt}, ${report.durationSec} s, seed ${report.seed}`,
    `machine: ${m.nproc} cores (${m.cpuModel}), ${m.totalMemoryMiB} MiB, node ${m.node}; cluster mode in the server: ${report.clusterMode ? 'yes' : 'no'}`,
    '',
  ]
  for (const result of report.results) {
    lines.push(...renderPart(result))
    for (const problem of result.problems) lines.push(`CHECK FAILED: ${problem}`)
    lines.push('')
  }
  for (const { part, why } of report.skipped) lines.push(`skipped ${part}: ${why}`)
  for (const { part, error } of report.failures) lines.push(`ERROR in ${part}: ${error}`)
  lines.push(report.ok ? 'all checks passed' : 'SOME CHECKS FAILED')
  return lines.join('\n')
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
  const log = (line: string) => console.error(`[bench:cluster] ${line}`)
  const startedAt = new Date()
  const t0 = performance.now()
  const runId = startedAt.getTime().toString(36)
  const clusterMode = clusterModeAvailable()
  const results: PartResult[] = []
  const skipped: ClusterReport['skipped'] = []
  const failures: ClusterReport['failures'] = []
  let cluster: BenchCluster | null = null
  const sharedCluster = async () => (cluster ??= await startBenchCluster({ nodes: 3, withRedis: true }))
  try {
    for (const part of cli.parts) {
      if (NEEDS_CLUSTER_MODE.has(part) && !clusterMode && !cli.withoutClusterMode) {
        skipped.push({ part, why: 'this server build has no cluster mode yet (--redis-url, --node-id, --advertise-url)' })
        continue
      }
      log(`part ${part}`)
      try {
        if (part === 'latency') results.push(await runLatency(await sharedCluster(), { ...LATENCY_DEFAULTS, inserts: cli.latencyInserts }, runId, log))
        if (part === 'failover') results.push(await runFailover(await sharedCluster(), { ...FAILOVER_DEFAULTS, rounds: cli.rounds }, runId, log))
        if (part === 'capacity') {
          const node = (await sharedCluster()).nodes[0]!
          const target = { name: node.name, url: node.url.replace('http', 'ws'), httpUrl: node.url, pid: node.pid }
          results.push(await runCapacity(target, { ...CAPACITY_DEFAULTS, steps: cli.capacitySteps, targetP99Ms: cli.targetP99 }, runId, log))
        }
        if (part === 'throughput') {
          results.push(await runClusterThroughput(await sharedCluster(), { ...CLUSTER_THROUGHPUT_DEFAULTS, docs: cli.throughputDocs, firstEditorFirst: cli.firstEditorFirst }, cli.seed, runId, log))
        }
        if (part === 'stores') {
          results.push(await runStores({ ...STORES_DEFAULTS, docs: cli.storesDocs, durationSec: cli.storesDuration }, cli.seed, runId, log))
        }
      } catch (error) {
        const message = error instanceof Error ? (error.stack ?? error.message) : String(error)
        log(`${part} FAILED: ${message}`)
        failures.push({ part, error: message })
      }
    }
  } finally {
    await (cluster as BenchCluster | null)?.stop()
  }
  const report: ClusterReport = {
    startedAt: startedAt.toISOString(),
    durationSec: Math.round((performance.now() - t0) / 1000),
    machine: machineFacts(),
    versions: packageVersions(ROOT),
    seed: cli.seed,
    clusterMode,
    results,
    skipped,
    failures,
    ok: failures.length === 0 && results.every((result) => result.problems.length === 0),
  }
  console.log(render(report))
  console.log()
  console.log(JSON.stringify(report))
  mkdirSync(cli.outDir, { recursive: true })
  const file = path.join(cli.outDir, `cluster-${report.startedAt.replace(/[:.]/g, '-')}.json`)
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`)
  log(`results written to ${path.relative(process.cwd(), file)}`)
  return failures.length > 0 ? 1 : report.ok ? 0 : 3
}

// Every WebsocketProvider adds a process 'exit' listener; thousands of clients are the point here.
process.setMaxListeners(0)
process.once('exit', killRunningServers)
const code = await main()
process.exitCode = code
setTimeout(() => {
  console.error('[bench:cluster] forcing exit (open handles left)')
  process.exit(code)
}, 3000).unref()
