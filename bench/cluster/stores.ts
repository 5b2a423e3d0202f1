import { findListeningPid, startBenchServer, type BenchServer } from '../serverProcess.ts'
import { round } from '../statistics.ts'
import { runTypingLoad, typingLoadProblems, type TypingLoadOptions, type TypingRun } from '../typingWorkload.ts'
import { asBenchServer, startBenchCluster } from './benchCluster.ts'
import { treeCpuUs } from './treeCpu.ts'

/**
 * (c) The store's cost: the typing workload (the `throughput` scenario's) against one node with
 * the PostgreSQL store and against one with the embedded LevelDB store, same seed. Node CPU per op
 * is the server process alone; PostgreSQL's own CPU (postmaster and backends) is reported beside
 * it, because with that store part of the work moves into the database.
 */
export interface StoresOptions extends TypingLoadOptions {}

export const STORES_DEFAULTS: StoresOptions = {
  docs: 10,
  clientsPerDoc: 5,
  durationSec: 10,
  warmupSec: 1,
  window: 100,
  titleEvery: 25,
  settleTimeoutMs: 30_000,
}

export interface StoreRun extends TypingRun {
  readonly store: 'leveldb' | 'postgres'
  /**
   * PostgreSQL CPU per op (µs): its processes' CPU over the whole run (connect, warm-up, load,
   * settling) divided by the ops of the whole run (the measured rate × warm-up + measured time).
   * An estimate: its window is wider than the node's.
   */
  readonly postgresCpuUsPerOp: number | null
}

export interface StoresResult {
  readonly part: 'stores'
  readonly params: StoresOptions
  readonly runs: StoreRun[]
  readonly problems: string[]
}

export const runStores = async (options: StoresOptions, seed: number, runId: string, log: (line: string) => void): Promise<StoresResult> => {
  const runs: StoreRun[] = []
  const load = (server: BenchServer, store: StoreRun['store']) =>
    runTypingLoad(server, options, { label: `stores/${store}`, roomPrefix: `proposal/cluster-stores-${store}-${runId}`, seed, log })

  const leveldb = await startBenchServer({ validationGate: true })
  try {
    runs.push({ store: 'leveldb', ...(await load(leveldb, 'leveldb')), postgresCpuUsPerOp: null })
  } finally {
    await leveldb.stop()
  }

  const cluster = await startBenchCluster({ nodes: 1, withRedis: false })
  try {
    const postmaster = findListeningPid(cluster.postgres.port)
    const before = postmaster === null ? null : treeCpuUs(postmaster)
    const run = await load(asBenchServer(cluster.nodes[0]!), 'postgres')
    const after = postmaster === null ? null : treeCpuUs(postmaster)
    const wholeRunOps = run.opsPerSec * (options.warmupSec + options.durationSec)
    const postgresCpuUsPerOp = before === null || after === null || wholeRunOps === 0 ? null : round((after - before) / wholeRunOps, 1)
    log(`stores/postgres: PostgreSQL ${postgresCpuUsPerOp ?? '?'} µs/op (estimate)`)
    runs.push({ store: 'postgres', ...run, postgresCpuUsPerOp })
  } finally {
    await cluster.stop()
  }
  return { part: 'stores', params: options, runs, problems: runs.flatMap((run) => typingLoadProblems(run, `stores/${run.store}`)) }
}
