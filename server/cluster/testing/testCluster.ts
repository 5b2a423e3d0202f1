import { after, before } from 'node:test'
import type { StockClient } from '../../../shared/testing/stockClient.ts'
import { PostgresDocumentStore } from '../../persistence/postgres/postgresDocumentStore.ts'
import { DocumentLeases } from '../documentLease.ts'
import { startPostgres, type PostgresInstance } from '../../../shared/testing/postgresInstance.ts'
import { startRedis, type RedisInstance } from '../../../shared/testing/redisInstance.ts'
import { spawnServer, type ServerProcess } from '../../../shared/testing/serverProcess.ts'
import { tempDir } from '../../../shared/testing/tempDir.ts'

export interface TestCluster {
  readonly redis: RedisInstance
  readonly postgres: PostgresInstance
  /** The nodes' shared data directory (it holds the dev-mode secret). */
  readonly dataDir: string
  /** The running nodes (a killed one stays in place until `restart`). */
  readonly nodes: ServerProcess[]
  /** Starts node `index` again (after a kill) as a new node: a new node id and a new port. */
  restart(index: number): Promise<ServerProcess>
  /** Stops every node, Redis and PostgreSQL, and removes the data directory. */
  stop(): Promise<void>
}

/**
 * N real server processes in cluster mode on one throwaway Redis and one throwaway PostgreSQL, as
 * `npm start` runs them (dev mode). They share one data directory, which on PostgreSQL holds only
 * the dev-mode secret: every node then issues and verifies the same tokens, and derives the same
 * node-to-node key from it. The first node creates it before the others start.
 */
export const startCluster = async (count: number, { leaseMs = 1_500, args = [] as string[] } = {}): Promise<TestCluster> => {
  const [redis, postgres, dir] = await Promise.all([startRedis(), startPostgres(), tempDir('posalpro-cluster-')])
  let starts = 0
  // A restarted process is a new node (a node id is never reused: its old leases may not have expired).
  const start = (index: number) =>
    spawnServer({
      dataDir: dir.path,
      args: [
        ...['--postgres-url', postgres.url, '--redis-url', redis.url, '--node-id', `node-${index}-${starts++}`, '--lease-ms', String(leaseMs)],
        // Short grace and heartbeat: rooms nobody uses unload (and give their lease up) quickly.
        ...['--room-unload-grace', '500', '--heartbeat-interval', '2000'],
        ...args,
      ],
    })
  const nodes: ServerProcess[] = []
  try {
    nodes.push(await start(0))
    nodes.push(...(await Promise.all(Array.from({ length: count - 1 }, (_, i) => start(i + 1)))))
  } catch (error) {
    await Promise.all(nodes.map((node) => node.kill()))
    await Promise.all([redis.stop(), postgres.stop(), dir.remove()])
    throw error
  }
  return {
    redis,
    postgres,
    dataDir: dir.path,
    nodes,
    async restart(index) {
      await nodes[index]!.kill()
      nodes[index] = await start(index)
      return nodes[index]!
    },
    async stop() {
      for (const node of nodes) node.child.kill('SIGCONT')
      await Promise.all(nodes.map((node) => node.kill()))
      redis.resume()
      await Promise.all([redis.stop(), postgres.stop()])
      await dir.remove()
    },
  }
}

export interface ObservedCluster {
  readonly cluster: TestCluster
  /** The test's own view of the cluster's PostgreSQL: what is stored, under which epoch. */
  readonly store: PostgresDocumentStore
  /** The test's own view of the leases: who owns a document. */
  readonly leases: DocumentLeases
  /** Clients the test opened: destroyed when the file ends. */
  readonly open: StockClient[]
}

/**
 * For a test file that watches who owns what: registers `before`/`after` hooks that start a
 * cluster of `count` nodes with an observer's store and leases, and stop it all at the end. The
 * fields are set once `before` ran.
 */
export const observedCluster = (count = 3): ObservedCluster => {
  const observed = { open: [] as StockClient[] } as { cluster: TestCluster; store: PostgresDocumentStore; leases: DocumentLeases; open: StockClient[] }
  before(async () => {
    observed.cluster = await startCluster(count)
    observed.store = await PostgresDocumentStore.open(observed.cluster.postgres.url)
    observed.leases = new DocumentLeases(observed.cluster.redis.url, { nodeId: 'test-observer' })
  })
  after(async () => {
    for (const client of observed.open.splice(0)) client.destroy()
    observed.leases.close()
    await observed.store.close()
    await observed.cluster.stop()
  })
  return observed
}

/** A node's unlabelled metric `name` from its /metrics (NaN when it does not report it). */
export const nodeMetric = async (cluster: TestCluster, node: number, name: string): Promise<number> => {
  const text = await (await fetch(`${cluster.nodes[node]!.httpUrl}/metrics`)).text()
  return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? Number.NaN)
}
