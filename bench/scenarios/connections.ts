import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises'
import { benchToken, connectBenchClient, createParagraph, destroyAll, type BenchClient } from '../clients.ts'
import { openWindow } from '../measuredWindow.ts'
import { readProcStats, RssSampler, waitForIdle, type GeneratorUsage, type MachineUsage } from '../procStats.ts'
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
}

export const CONNECTIONS_DEFAULTS: ConnectionsOptions = { connections: 2000, ratePerSec: 500, spread: 'distinct', holdMs: 2000, timeoutMs: 60_000 }

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
  readonly server: ServerFigures
  readonly generator: GeneratorUsage
  readonly machine: MachineUsage
  readonly serverCloses: number
}

export const runConnections = async (options: ConnectionsOptions, context: ScenarioContext): Promise<ConnectionsResult> => {
  const server = await context.target.start({ validationGate: true })
  const clients: BenchClient[] = []
  try {
    const token = await benchToken(server.httpUrl, { user: 'idle-editor', role: 'editor', tenant: 'bench' })
    await waitForIdle(server.pid, { quietMs: 300, maxMs: 5000 })
    const before = readProcStats(server.pid)
    context.log(`connections: server pid ${server.pid}, RSS ${mib(before.rssKiB)} MiB; opening ${options.connections} at ${options.ratePerSec}/s (${options.spread} docs)`)
    const window = openWindow(server.pid)
    const rss = new RssSampler(server.pid)
    const connectMs: number[] = []
    const startedAt = performance.now()
    for (let i = 0; i < options.connections; i++) {
      const room = options.spread === 'same' ? `proposal/conns-${context.runId}` : `proposal/conns-${context.runId}-${i}`
      const createdAt = performance.now()
      const client = connectBenchClient({ url: server.url, room, token, label: `idle-${i}` })
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
    const serverCloses = clients.reduce((sum, client) => sum + client.serverCloses.length, 0)
    const problems: string[] = []
    if (connected < options.connections) problems.push(`${options.connections - connected} of ${options.connections} connections did not sync within ${options.timeoutMs} ms`)
    if (serverCloses > 0) problems.push(`the server closed ${serverCloses} connections`)
    const result: ConnectionsResult = {
      scenario: 'connections',
      params: options,
      connected,
      openSec: round(openSec),
      connectMs: distribution(connectMs),
      serverRssBeforeMiB: mib(before.rssKiB),
      serverRssAfterMiB: mib(after.rssKiB),
      serverKiBPerConnection: round((after.rssKiB - before.rssKiB) / Math.max(1, connected), 1),
      serverCpuUsPerConnection: round(((figures.server.cpuMsPrecise ?? figures.server.cpuMs) * 1000) / Math.max(1, connected), 0),
      server: serverFigures(figures.serverStart, figures.serverEnd, rss.stop(), server.warnings()),
      generator: figures.generator,
      machine: figures.machine,
      serverCloses,
      ok: problems.length === 0,
      problems,
    }
    context.log(`connections: ${result.serverKiBPerConnection} KiB per connection, ${result.serverCpuUsPerConnection} µs server CPU per connection, connect p50 ${result.connectMs.p50} ms`)
    return result
  } finally {
    // In chunks, so thousands of closes do not starve the event loop.
    for (let i = 0; i < clients.length; i += 200) {
      destroyAll(clients.slice(i, i + 200))
      await yieldToEventLoop()
    }
    await server.stop()
  }
}
