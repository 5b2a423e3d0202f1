import { setTimeout as sleep } from 'node:timers/promises'
import * as Y from 'yjs'
import { benchToken, connectBenchClient, createParagraph, destroyAll, ownClock, paragraphText, type BenchClient } from '../clients.ts'
import { openWindow, type MeasuredWindow } from '../measuredWindow.ts'
import { RssSampler, type GeneratorUsage, type MachineUsage } from '../procStats.ts'
import { serverFigures, type ScenarioContext, type ScenarioResultBase, type ServerFigures } from '../scenario.ts'
import { distribution, round, type Distribution } from '../statistics.ts'
import { waitUntil } from '../waitUntil.ts'

/**
 * `fanout`: latency of one edit to everyone. C editors share one proposal; every `interval` ms one
 * of them, taken in turn, types into the body. We time from the insert until the first other
 * replica has integrated it and until every other replica has (gate on, the production setting).
 */

export interface FanoutOptions {
  readonly clients: number
  readonly intervalMs: number
  /** Measured inserts. */
  readonly updates: number
  /** Inserts before the measured ones (connections and JIT warm up), not counted. */
  readonly warmup: number
  /** An insert not seen by every peer within this long counts as undelivered. */
  readonly timeoutMs: number
}

export const FANOUT_DEFAULTS: FanoutOptions = { clients: 50, intervalMs: 20, updates: 500, warmup: 50, timeoutMs: 5000 }

export interface FanoutResult extends ScenarioResultBase {
  readonly scenario: 'fanout'
  readonly params: FanoutOptions
  /** insert → the first other replica integrated it, ms. */
  readonly firstPeerMs: Distribution
  /** insert → every other replica integrated it, ms. */
  readonly allPeersMs: Distribution
  readonly sent: number
  /** Measured inserts not seen by every peer within timeoutMs. */
  readonly undelivered: number
  /** Server CPU per measured insert (each one goes to clients - 1 peers), µs. */
  readonly serverCpuUsPerUpdate: number
  readonly server: ServerFigures
  readonly generator: GeneratorUsage
  /** The rest of the machine (other processes on a shared machine). */
  readonly machine: MachineUsage
  readonly serverCloses: number
}

/** One insert on its way: done when every other replica's state for the sender reaches `clock`. */
interface InFlight {
  readonly sender: number
  readonly senderClientId: number
  readonly clock: number
  readonly sentAt: number
  readonly measured: boolean
  readonly seenBy: Set<number>
  firstAt: number | null
  allAt: number | null
}

export const runFanout = async (options: FanoutOptions, context: ScenarioContext): Promise<FanoutResult> => {
  const server = await context.target.start({ validationGate: true })
  let clients: BenchClient[] = []
  try {
    context.log(`fanout: server pid ${server.pid}; ${options.clients} clients on one doc`)
    const tokens = await Promise.all(
      Array.from({ length: options.clients }, (_, i) => benchToken(server.httpUrl, { user: `fanout-${i}`, role: 'editor', tenant: 'bench' })),
    )
    clients = tokens.map((token, i) => connectBenchClient({ url: server.url, room: `proposal/fanout-${context.runId}`, token, label: `fanout-${i}` }))
    const synced = await Promise.all(clients.map((client) => client.whenSynced(30_000)))
    if (!synced.every(Boolean)) throw new Error(`${synced.filter((s) => !s).length} of ${clients.length} clients did not sync`)
    createParagraph(clients[0]!.doc)
    if (!(await waitUntil(() => clients.every((client) => paragraphText(client.doc) !== null), { timeoutMs: 10_000 }))) {
      throw new Error('the paragraph did not reach every client')
    }

    const inFlight = new Set<InFlight>()
    const all: InFlight[] = []
    clients.forEach((client, receiver) => {
      client.doc.on('update', (_update: Uint8Array, origin: unknown) => {
        if (origin !== client.provider) return // only what came over the network
        const now = performance.now()
        for (const entry of inFlight) {
          if (entry.sender === receiver || entry.seenBy.has(receiver)) continue
          if (Y.getState(client.doc.store, entry.senderClientId) < entry.clock) continue
          entry.seenBy.add(receiver)
          entry.firstAt ??= now
          if (entry.seenBy.size === clients.length - 1) {
            entry.allAt = now
            inFlight.delete(entry)
          }
        }
      })
    })

    const total = options.warmup + options.updates
    let window: MeasuredWindow = openWindow(server.pid)
    let rss = new RssSampler(server.pid)
    const startedAt = performance.now()
    for (let i = 0; i < total; i++) {
      if (i === options.warmup) {
        rss.stop()
        window.close()
        window = openWindow(server.pid)
        rss = new RssSampler(server.pid)
        context.log(`fanout: measuring ${options.updates} inserts, one every ${options.intervalMs} ms`)
      }
      const wait = startedAt + i * options.intervalMs - performance.now()
      if (wait > 0) await sleep(wait)
      const sender = i % clients.length
      const client = clients[sender]!
      const text = paragraphText(client.doc)!
      const sentAt = performance.now()
      text.insert(text.length, String.fromCharCode(97 + (i % 26)))
      const entry: InFlight = {
        sender,
        senderClientId: client.doc.clientID,
        clock: ownClock(client.doc),
        sentAt,
        measured: i >= options.warmup,
        seenBy: new Set(),
        firstAt: null,
        allAt: null,
      }
      all.push(entry)
      inFlight.add(entry)
    }
    const delivered = await waitUntil(() => inFlight.size === 0, { timeoutMs: options.timeoutMs })
    const figures = window.close()
    const rssPeakKiB = rss.stop()

    const measured = all.filter((entry) => entry.measured)
    const inTime = (at: number | null, entry: InFlight): at is number => at !== null && at - entry.sentAt <= options.timeoutMs
    const firstPeerMs = distribution(measured.flatMap((e) => (inTime(e.firstAt, e) ? [e.firstAt - e.sentAt] : [])))
    const allPeersMs = distribution(measured.flatMap((e) => (inTime(e.allAt, e) ? [e.allAt - e.sentAt] : [])))
    const undelivered = measured.filter((e) => !inTime(e.allAt, e)).length
    const serverCloses = clients.reduce((sum, client) => sum + client.serverCloses.length, 0)
    const problems: string[] = []
    if (!delivered || undelivered > 0) problems.push(`${undelivered} of ${measured.length} inserts were not seen by every peer within ${options.timeoutMs} ms`)
    if (serverCloses > 0) problems.push(`the server closed ${serverCloses} connections`)
    context.log(`fanout: first peer p50 ${firstPeerMs.p50} ms, all peers p50 ${allPeersMs.p50} ms, undelivered ${undelivered}`)
    return {
      scenario: 'fanout',
      params: options,
      firstPeerMs,
      allPeersMs,
      sent: measured.length,
      undelivered,
      serverCpuUsPerUpdate: round(((figures.server.cpuMsPrecise ?? figures.server.cpuMs) * 1000) / Math.max(1, measured.length), 1),
      server: serverFigures(figures.serverStart, figures.serverEnd, rssPeakKiB, server.warnings()),
      generator: figures.generator,
      machine: figures.machine,
      serverCloses,
      ok: problems.length === 0,
      problems,
    }
  } finally {
    destroyAll(clients)
    await server.stop()
  }
}
