import { findListeningPid } from '../serverProcess.ts'
import { round } from '../statistics.ts'
import { runTypingLoad, typingLoadProblems, type TypingLoadOptions, type TypingRun } from '../typingWorkload.ts'
import { asBenchServer, type BenchCluster } from './benchCluster.ts'
import { treeCpuUs } from './treeCpu.ts'

/**
 * (e) The cluster's throughput: the typing workload over every node. Editor k of document d
 * connects to node (d + k) mod N, so most editors reach the document's owner through another node
 * (forwarded): what a load balancer spreading connections without document affinity gives. By
 * default every editor of a document connects at once, so each new document is opened on every
 * node together and all but one node lose the race for its lease (their clients are forwarded to
 * the winner on the same connection; a server close is counted as a problem);
 * `firstEditorFirst` connects the first editor alone first, its node then the owner.
 * CPU is the whole cluster's — every node, PostgreSQL's processes and Redis — over the whole run
 * (connect, warm-up, load, settling), divided by the whole run's ops: an estimate, like (c)'s.
 */
export interface ClusterThroughputOptions extends TypingLoadOptions {
  /** Connect each document's first editor before the others (its node takes the document alone). */
  readonly firstEditorFirst: boolean
}

export const CLUSTER_THROUGHPUT_DEFAULTS: ClusterThroughputOptions = {
  docs: 12,
  clientsPerDoc: 5,
  durationSec: 10,
  warmupSec: 1,
  window: 100,
  titleEvery: 25,
  settleTimeoutMs: 30_000,
  firstEditorFirst: false,
}

export interface ClusterThroughputResult {
  readonly part: 'throughput'
  readonly params: ClusterThroughputOptions
  readonly nodes: number
  readonly run: TypingRun
  /** Cluster CPU per op (µs): nodes, PostgreSQL and Redis, and each share. */
  readonly clusterCpuUsPerOp: number
  readonly cpuUsPerOp: { readonly nodes: number; readonly postgres: number; readonly redis: number }
  /** Cores the whole cluster used, on average over the run. */
  readonly clusterCores: number
  readonly problems: string[]
}

export const runClusterThroughput = async (
  cluster: BenchCluster,
  options: ClusterThroughputOptions,
  seed: number,
  runId: string,
  log: (line: string) => void,
): Promise<ClusterThroughputResult> => {
  const nodes = cluster.nodes
  const groups = {
    nodes: nodes.map((node) => node.pid),
    postgres: [findListeningPid(cluster.postgres.port)].filter((pid): pid is number => pid !== null),
    redis: cluster.redis ? [findListeningPid(cluster.redis.port)].filter((pid): pid is number => pid !== null) : [],
  }
  const cpuOf = (pids: readonly number[]) => pids.reduce((sum, pid) => sum + treeCpuUs(pid), 0)
  const before = { nodes: cpuOf(groups.nodes), postgres: cpuOf(groups.postgres), redis: cpuOf(groups.redis), at: performance.now() }
  const run = await runTypingLoad(asBenchServer(nodes[0]!), options, {
    label: `throughput/${nodes.length} nodes`,
    roomPrefix: `proposal/cluster-throughput-${runId}`,
    seed,
    log,
    clientUrl: (doc, client) => nodes[(doc + client) % nodes.length]!.url.replace('http', 'ws'),
    openTogether: !options.firstEditorFirst,
  })
  const wallMs = performance.now() - before.at
  const wholeRunOps = Math.max(1, run.opsPerSec * (options.warmupSec + options.durationSec))
  const perOp = (group: keyof typeof groups) => round((cpuOf(groups[group]) - before[group]) / wholeRunOps, 1)
  const cpuUsPerOp = { nodes: perOp('nodes'), postgres: perOp('postgres'), redis: perOp('redis') }
  const clusterCpuUsPerOp = round(cpuUsPerOp.nodes + cpuUsPerOp.postgres + cpuUsPerOp.redis, 1)
  const clusterCores = round((clusterCpuUsPerOp * wholeRunOps) / 1000 / wallMs)
  log(`throughput/${nodes.length} nodes: ${run.opsPerSec} ops/s, cluster ${clusterCpuUsPerOp} µs/op (nodes ${cpuUsPerOp.nodes}, PostgreSQL ${cpuUsPerOp.postgres}, Redis ${cpuUsPerOp.redis})`)
  return {
    part: 'throughput',
    params: options,
    nodes: nodes.length,
    run,
    clusterCpuUsPerOp,
    cpuUsPerOp,
    clusterCores,
    problems: typingLoadProblems(run, `throughput/${nodes.length} nodes`),
  }
}
