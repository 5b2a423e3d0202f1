import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises'
import { benchToken, connectBenchClient, createParagraph, destroyAll, type BenchClient } from '../clients.ts'
import { openWindow, type WindowFigures } from '../measuredWindow.ts'
import { readProcStats, RssSampler, waitForIdle, type GeneratorUsage, type MachineUsage, type ProcSnapshot } from '../procStats.ts'
import { serverFigures, type ScenarioContext, type ScenarioResultBase, type ServerFigures } from '../scenario.ts'
import { distribution, mib, round, type Distribution } from '../statistics.ts'
import { waitUntil } from '../waitUntil.ts'

/**
 * `connections`: what an idle connection costs the server. M (2,000) stock providers connect at R
 * per second (500), each to its own new proposal (`distinct`, the default) or all to one
 * (`same`); the first client of a doc creates the body's paragraph, as an editor opening a new
 * proposal does. Once all are synced and the server is idle again, the growth of its RSS divided by
 * the connections is the memory per idle connection (with its document); server CPU per
 * connection covers token verification, the document's creation and the sync handshake.
 *
 * With `storms` > 1 the clients are closed and the storm repeated on the same server process, each
 * time on new documents: the first storm meets a fresh process (V8 still compiling the hot paths on
 * its helper threads, the code running unoptimized meanwhile: a deploy), the later ones a warm one.
 * Each storm's CPU is split into the main thread (JavaScript, the event loop) and the rest.
 */

export type Spread = 'distinct' | 'same'

export interface ConnectionsOptions {
  readonly connections: number
  /** New connections per second. */
  readonly ratePerSec: number
  readonly spread: Spread
  /** How long the connections stay open after the last one synced, before the RSS is read. */
  readonly holdMs: number
  /** Longest wait for every connection to sync. */
  readonly timeoutMs: number
  /** Storms on the same server process (the memory figure is the first one's). */
  readonly storms: number
}

export const CONNECTIONS_DEFAULTS: ConnectionsOptions = { connections: 2000, ratePerSec: 500, spread: 'distinct', holdMs: 2000, timeoutMs: 60_000, storms: 1 }

/** One storm's figures (storm 1 meets a fresh server process). */
export interface StormFigures {
  readonly connected: number
  readonly connectMs: Distribution
  /** Server CPU from the first connect until all synced and idle, per connection, µs. */
  readonly serverCpuUsPerConnection: number
  /** Of that, the main thread's (null without schedstat). */
  readonly mainThreadUsPerConnection: number | null
  readonly otherCores: number
}

export interface ConnectionsResult extends ScenarioResultBase {
  readonly scenario: 'connections'
  readonly params: ConnectionsOptions
  readonly connected: number
  /** Seconds the bench took to open them all (R per second when it kept up). */
  readonly openSec: number
  /** Provider created → synced, ms. */
  readonly connectMs: Distribution
  readonly serverRssBeforeMiB: number
  readonly serverRssAfterMiB: number
  /** (RSS after − RSS before) / connected, KiB: includes garbage V8 has not collected yet. */
  readonly serverKiBPerConnection: number
  /** Server CPU from the first connect until all synced and idle, per connection, µs. */
  readonly serverCpuUsPerConnection: number
  /** Every storm, the first one included. */
  readonly storms: readonly StormFigures[]
  readonly server: ServerFigures
  readonly generator: GeneratorUsage
  readonly machine: MachineUsage
  readonly serverCloses: number
}

export const runConnections = async (options: ConnectionsOptions, context: ScenarioContext): Promise<ConnectionsResult> => {
  const server = await context.target.start({ validationGate: true })
  let clients: BenchClient[] = []
  const closeClients = async () => {
    // In chunks, so thousands of closes do not starve the event loop.
    for (let i = 0; i < clients.length; i += 200) {
      destroyAll(clients.slice(i, i + 200))
      await yieldToEventLoop()
    }
    clients = []
  }
  try {
    const token = await benchToken(server.httpUrl, { user: 'idle-editor', role: 'editor', tenant: 'bench' })
    const storms: StormFigures[] = []
    const problems: string[] = []
    let first: { before: ProcSnapshot; after: ProcSnapshot; figures: WindowFigures; rssPeakKiB: number; openSec: number; serverCloses: number } | null = null
    for (let storm = 1; storm <= options.storms; storm++) {
      await waitForIdle(server.pid, { quietMs: 300, maxMs: 5000 })
      const before = readProcStats(server.pid)
      context.log(`connections: server pid ${server.pid}, RSS ${mib(before.rssKiB)} MiB; storm ${storm}/${options.storms}: opening ${options.connections} at ${options.ratePerSec}/s (${options.spread} docs)`)
      const window = openWindow(server.pid)
      const rss = new RssSampler(server.pid)
      const connectMs: number[] = []
      const startedAt = performance.now()
      for (let i = 0; i < options.connections; i++) {
        const room = options.spread === 'same' ? `proposal/conns-${context.runId}-s${storm}` : `proposal/conns-${context.runId}-s${storm}-${i}`
        const createdAt = performance.now()
        const client = connectBenchClient({ url: server.url, room, token, label: `idle-${storm}-${i}` })
        const firstOfDoc = options.spread === 'distinct' || i === 0
        client.provider.once('sync', () => {
          connectMs.push(performance.now() - createdAt)
          if (firstOfDoc) createParagraph(client.doc)
        })
        clients.push(client)
        const wait = startedAt + ((i + 1) * 1000) / options.ratePerSec - performance.now()
        if (wait > 0) await sleep(wait)
        else if (i % 50 === 49) await yieldToEventLoop()
      }
      const openSec = (performance.now() - startedAt) / 1000
      await waitUntil(() => clients.every((client) => client.provider.synced), { timeoutMs: options.timeoutMs, intervalMs: 50 })
      const connected = clients.filter((client) => client.provider.synced).length
      context.log(`connections: ${connected}/${options.connections} synced; holding ${options.holdMs} ms`)
      await sleep(options.holdMs)
      await waitForIdle(server.pid, { quietMs: 300, maxMs: 10_000 })
      const figures = window.close()
      const after = readProcStats(server.pid)
      const rssPeakKiB = rss.stop()
      const serverCloses = clients.reduce((sum, client) => sum + client.serverCloses.length, 0)
      if (connected < options.connections) problems.push(`storm ${storm}: ${options.connections - connected} of ${options.connections} connections did not sync within ${options.timeoutMs} ms`)
      if (serverCloses > 0) problems.push(`storm ${storm}: the server closed ${serverCloses} connections`)
      const perConnection = (ms: number) => round((ms * 1000) / Math.max(1, connected), 0)
      storms.push({
        connected,
        connectMs: distribution(connectMs),
        serverCpuUsPerConnection: perConnection(figures.server.cpuMsPrecise ?? figures.server.cpuMs),
        mainThreadUsPerConnection: figures.server.mainThreadMs === null ? null : perConnection(figures.server.mainThreadMs),
        otherCores: figures.machine.otherCores,
      })
      first ??= { before, after, figures, rssPeakKiB, openSec, serverCloses }
      const last = storms.at(-1)!
      context.log(`connections: storm ${storm}: ${last.serverCpuUsPerConnection} µs server CPU per connection (main thread ${last.mainThreadUsPerConnection ?? '?'}), connect p50 ${last.connectMs.p50} ms`)
      await closeClients()
    }
    const { before, after, figures, rssPeakKiB, openSec, serverCloses } = first!
    const result: ConnectionsResult = {
      scenario: 'connections',
      params: options,
      connected: storms[0]!.connected,
      openSec: round(openSec),
      connectMs: storms[0]!.connectMs,
      serverRssBeforeMiB: mib(before.rssKiB),
      serverRssAfterMiB: mib(after.rssKiB),
      serverKiBPerConnection: round((after.rssKiB - before.rssKiB) / Math.max(1, storms[0]!.connected), 1),
      serverCpuUsPerConnection: storms[0]!.serverCpuUsPerConnection,
      storms,
      server: serverFigures(figures.serverStart, figures.serverEnd, rssPeakKiB, server.warnings()),
      generator: figures.generator,
      machine: figures.machine,
      serverCloses,
      ok: problems.length === 0,
      problems,
    }
    context.log(`connections: ${result.serverKiBPerConnection} KiB per connection, ${result.serverCpuUsPerConnection} µs server CPU per connection, connect p50 ${result.connectMs.p50} ms`)
    return result
  } finally {
    await closeClients()
    await server.stop()
  }
}
