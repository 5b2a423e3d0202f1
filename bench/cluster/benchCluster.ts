import { rmSync } from 'node:fs'
import path from 'node:path'
import { clusterFlagsSupported, newDevSecret, startLocalNode, type LocalNode } from '../../server/cluster/localNode.ts'
import { freePort } from '../../shared/testing/freePort.ts'
import { startPostgres, type PostgresInstance } from '../../shared/testing/postgresInstance.ts'
import { startRedis, type RedisInstance } from '../../shared/testing/redisInstance.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import type { BenchServer } from '../serverProcess.ts'
import { BENCH_SERVER_ARGS } from '../serverProcess.ts'

/**
 * The cluster under measurement: a throwaway PostgreSQL and Redis and N real node processes
 * (`server/main.ts` via tsx, as the other scenarios run it), each on its own port and data dir,
 * rate limits raised as for every bench server (all clients come from 127.0.0.1).
 */
export interface BenchCluster {
  readonly postgres: PostgresInstance
  readonly redis: RedisInstance | null
  /** The nodes now (a restarted node replaces its entry). */
  readonly nodes: LocalNode[]
  /** Starts node `index` again on its port and data dir (after `kill()`). */
  restart(index: number): Promise<LocalNode>
  stop(): Promise<void>
}

export const startBenchCluster = async ({ nodes: count, withRedis }: { nodes: number; withRedis: boolean }): Promise<BenchCluster> => {
  const data = await tempDir('posalpro-bench-cluster-')
  let postgres: PostgresInstance | null = null
  let redis: RedisInstance | null = null
  const nodes: LocalNode[] = []
  try {
    // Settled, not Promise.all: an engine that started is stopped below even when the other failed.
    const [postgresStarted, redisStarted] = await Promise.allSettled([
      startPostgres({ database: 'collab_bench' }),
      withRedis ? startRedis() : Promise.resolve(null),
    ])
    if (postgresStarted.status === 'fulfilled') postgres = postgresStarted.value
    if (redisStarted.status === 'fulfilled') redis = redisStarted.value
    if (postgresStarted.status === 'rejected') throw postgresStarted.reason
    if (redisStarted.status === 'rejected') throw redisStarted.reason
    const devSecret = newDevSecret()
    const ports = await Promise.all(Array.from({ length: count }, () => freePort()))
    const start = (index: number) =>
      startLocalNode({
        name: `node-${index + 1}`,
        port: ports[index]!,
        dataDir: path.join(data.path, `node-${index + 1}`),
        devSecret,
        postgresUrl: postgres!.url,
        ...(redis ? { redisUrl: redis.url } : {}),
        extraArgs: BENCH_SERVER_ARGS,
      })
    const started = await Promise.allSettled(ports.map((_, index) => start(index)))
    nodes.push(...started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : [])))
    const failed = started.find((result) => result.status === 'rejected')
    if (failed) throw failed.reason
    const engines = { postgres: postgresStarted.value, redis }
    // A bench ended by Ctrl-C: the harness kills the processes on the way out; their directories go too.
    const removeDirs = () => {
      for (const dir of [data.path, engines.postgres.directory, engines.redis?.directory]) if (dir) rmSync(dir, { recursive: true, force: true })
    }
    process.once('exit', removeDirs)
    return {
      postgres: engines.postgres,
      redis: engines.redis,
      nodes,
      async restart(index) {
        const node = await start(index)
        nodes[index] = node
        return node
      },
      async stop() {
        await Promise.all(nodes.map((node) => node.stop()))
        await Promise.all([engines.redis?.stop(), engines.postgres.stop()])
        await data.remove()
        process.off('exit', removeDirs)
      },
    }
  } catch (error) {
    await Promise.all(nodes.map((node) => node.kill()))
    await Promise.all([redis?.stop(), postgres?.stop()])
    await data.remove()
    throw error
  }
}

/** Whether this server build runs real cluster mode (leases, forwarding): parts (a), (b), (d) need it. */
export const clusterModeAvailable = clusterFlagsSupported

const PINO_WARN = 40

/** A node as the shared bench code (typing workload) sees a server. */
export const asBenchServer = (node: LocalNode): BenchServer => ({
  pid: node.pid,
  url: node.url.replace('http', 'ws'),
  httpUrl: node.url,
  validationGate: true,
  warnings: () =>
    node.process
      .output()
      .split('\n')
      .filter((line) => {
        try {
          const entry = JSON.parse(line) as { level?: number; msg?: string }
          return (entry.level ?? 0) >= PINO_WARN && !String(entry.msg).startsWith('DEV MODE')
        } catch {
          return line.trim().length > 0
        }
      }),
  restart: null,
  stop: async () => void (await node.stop()),
})
