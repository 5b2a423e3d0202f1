import path from 'node:path'
import { Command, CommanderError, InvalidArgumentError } from 'commander'
import { startPostgres, type PostgresInstance } from '../../shared/testing/postgresInstance.ts'
import { startRedis, type RedisInstance } from '../../shared/testing/redisInstance.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { leaveSignalsToCaller } from '../../shared/testing/throwawayProcess.ts'
import { startFront, type Front } from './front.ts'
import { clusterFlagsSupported, newDevSecret, startLocalNode, type LocalNode } from './localNode.ts'

/**
 * `npm run cluster`: a whole cluster on this machine in one command, for development and demos. A
 * throwaway PostgreSQL and Redis from the machine's binaries, three nodes (the real server, each in
 * its own process, port and data directory, all in one temp directory), and the front on one port
 * forwarding by document path. Ctrl-C or SIGTERM stops everything and removes every byte it wrote.
 */

interface Cli {
  readonly host: string
  readonly port: number
  readonly nodes: number
  readonly nodePorts: number[] | null
  readonly appDir: string | null
}

const port = (value: string): number => {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('must be a port number (0–65535)')
  return Number(value)
}

const parseCli = (argv: readonly string[]): Cli => {
  const program = new Command('npm run cluster --')
    .description('A local cluster: throwaway PostgreSQL and Redis, N server nodes, one front port.')
    .option('--host <address>', 'address the front listens on', '127.0.0.1')
    .option('--port <port>', 'the front port (0: a free one)', port, 8080)
    .option('--nodes <count>', 'server nodes (1–9)', (value) => {
      if (!/^[1-9]$/.test(value)) throw new InvalidArgumentError('must be 1–9')
      return Number(value)
    }, 3)
    .option('--node-ports <list>', "the nodes' ports, comma-separated (default: the front port + 1, + 2, …)", (value) =>
      value.split(',').map((part) => port(part.trim())),
    )
    .option('--app-dir <dir>', 'the built demo app the nodes serve (default: dist/app)')
    .allowUnknownOption(false)
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) })
  program.parse([...argv], { from: 'user' })
  const options = program.opts<{ host: string; port: number; nodes: number; nodePorts?: number[]; appDir?: string }>()
  if (options.nodePorts && options.nodePorts.length !== options.nodes) {
    program.error(`--node-ports lists ${options.nodePorts.length} ports for ${options.nodes} nodes`)
  }
  if (!options.nodePorts && options.port === 0) program.error('--port 0 needs --node-ports (the nodes are numbered after the front)')
  return {
    host: options.host,
    port: options.port,
    nodes: options.nodes,
    nodePorts: options.nodePorts ?? null,
    appDir: options.appDir ? path.resolve(options.appDir) : null,
  }
}

/** Everything started so far, stopped in reverse: the front, the nodes, then the engines. */
interface Running {
  front: Front | null
  nodes: LocalNode[]
  redis: RedisInstance | null
  postgres: PostgresInstance | null
  data: { path: string; remove(): Promise<void> } | null
}

const stopAll = async (running: Running, { force }: { force: boolean }): Promise<void> => {
  await running.front?.close()
  // Graceful first: each node finishes its pending writes into PostgreSQL, which must still run.
  await Promise.all(running.nodes.map((node) => (force ? node.kill() : node.stop())))
  await Promise.all([running.redis?.stop(), running.postgres?.stop()])
  await running.data?.remove()
}

const say = (line: string) => process.stdout.write(`${line}\n`)

const main = async (): Promise<number> => {
  let cli: Cli
  try {
    cli = parseCli(process.argv.slice(2))
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2
    throw error
  }
  // This program stops its PostgreSQL and Redis itself, after the nodes: the test harness's
  // kill-at-once on a signal would pull the database from under nodes still flushing.
  leaveSignalsToCaller()
  const running: Running = { front: null, nodes: [], redis: null, postgres: null, data: null }
  // A signal while things start only marks the stop: stopping then would miss what is still
  // starting (a node whose process is not yet in `running`); the stop follows once all is up.
  let phase: 'starting' | 'running' | 'stopping' = 'starting'
  let stopRequested = false
  const stopGracefully = () => {
    phase = 'stopping'
    return stopAll(running, { force: false })
  }
  const stop = (signal: NodeJS.Signals) => {
    if (phase === 'stopping' || stopRequested) {
      // A second Ctrl-C: no more waiting.
      say(`${signal} again: killing everything`)
      void stopAll(running, { force: true }).finally(() => process.exit(130))
      return
    }
    if (phase === 'starting') {
      stopRequested = true
      say(`${signal}: stopping once what is starting is up (again to kill at once)`)
      return
    }
    say(`${signal}: stopping the front, the nodes, Redis and PostgreSQL; removing the data`)
    stopGracefully().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`stopping failed: ${String(error)}\n`)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))

  try {
    running.data = await tempDir('posalpro-cluster-')
    say(`data in ${running.data.path}`)
    say('starting PostgreSQL and Redis …')
    const [postgresStarted, redisStarted] = await Promise.allSettled([startPostgres({ database: 'collab' }), startRedis()])
    if (postgresStarted.status === 'fulfilled') running.postgres = postgresStarted.value
    if (redisStarted.status === 'fulfilled') running.redis = redisStarted.value
    if (postgresStarted.status === 'rejected') throw postgresStarted.reason
    if (redisStarted.status === 'rejected') throw redisStarted.reason
    const [postgres, redis] = [postgresStarted.value, redisStarted.value]
    const nodePorts = cli.nodePorts ?? Array.from({ length: cli.nodes }, (_, i) => cli.port + 1 + i)
    const devSecret = newDevSecret()
    if (!clusterFlagsSupported()) {
      say('note: this server build has no cluster flags (--redis-url, --node-id, --advertise-url) yet: the nodes run')
      say('      side by side on the shared PostgreSQL, and each document should be opened through the front only')
    }
    say(`starting ${cli.nodes} nodes …`)
    const data = running.data.path
    const started = await Promise.allSettled(
      nodePorts.map((nodePort, i) =>
        startLocalNode({
          name: `node-${i + 1}`,
          port: nodePort,
          dataDir: path.join(data, `node-${i + 1}`),
          devSecret,
          postgresUrl: postgres.url,
          redisUrl: redis.url,
          ...(cli.appDir ? { appDir: cli.appDir } : {}),
        }),
      ),
    )
    // Every node that did start is stopped with the rest, also when another one failed.
    running.nodes = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
    const failed = started.find((result) => result.status === 'rejected')
    if (failed) throw failed.reason
    for (const node of running.nodes) {
      void node.process.exited.then((code) => {
        if (phase === 'running') say(`${node.name} exited (${code}); the front sends its documents to the next node by rank`)
      })
    }
    running.front = await startFront({
      nodes: running.nodes.map((node) => node.url),
      host: cli.host,
      port: cli.port,
      onNodeChange: (node, up) => {
        if (phase !== 'running') return
        const name = running.nodes.find((candidate) => candidate.url === node)?.name ?? node
        say(`${name} is ${up ? 'up again' : 'down'}`)
      },
    })
  } catch (error) {
    process.stderr.write(`could not start the cluster: ${error instanceof Error ? error.message : String(error)}\n`)
    await stopAll(running, { force: true })
    return 1
  }
  if (stopRequested) {
    await stopGracefully()
    return 0
  }
  phase = 'running'
  const front = running.front
  say('')
  say(`PosalPro Collab local cluster`)
  say(`  front     ${front.url}   open this`)
  for (const node of running.nodes) say(`  ${node.name.padEnd(9)} ${node.url}   pid ${node.pid}`)
  say(`  postgres  ${running.postgres!.url}`)
  say(`  redis     ${running.redis!.url}`)
  say(`  data      ${running.data.path}`)
  say(`  dirs      ${[running.data.path, running.postgres!.directory, running.redis!.directory].join(' ')}`)
  say('Ctrl-C stops everything and removes the data.')
  say(`ready: ${front.url}`)
  return -1
}

const code = await main()
if (code >= 0) process.exit(code)
