import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises'
import * as Y from 'yjs'
import { benchToken, connectBenchClient, createParagraph, destroyAll, paragraphText, type BenchClient } from '../clients.ts'
import { openWindow } from '../measuredWindow.ts'
import { serverFigures, type ScenarioContext, type ScenarioResultBase, type ServerFigures } from '../scenario.ts'
import type { RestartSignal } from '../serverProcess.ts'
import { distribution, round, type Distribution } from '../statistics.ts'
import { waitUntil } from '../waitUntil.ts'

/**
 * `restart`: a deploy. D documents (100) × K connected stock clients (10) each, U inserts (200) per
 * document spread over its clients and all of them on every replica; then the server is stopped —
 * SIGTERM (graceful) and, in a second round, SIGKILL (a crash: only the write-ahead log is left) —
 * and started again on the same port and data directory. Every client reconnects on its own with
 * its provider's own backoff (y-websocket's: 100 ms · 2^n, at most 2.5 s). Measured from the moment
 * the new process listens: each client's time until it has synced again (p50/p99/max), the time
 * until all have, the server's CPU over that recovery; checked: every document intact in every
 * replica and in a fresh client (what was on every replica before the stop is durable: the
 * server broadcasts only what is on disk).
 */

export interface RestartOptions {
  readonly docs: number
  readonly clientsPerDoc: number
  readonly updatesPerDoc: number
  readonly signals: readonly RestartSignal[]
  /** Longest wait for the writes to settle and for every client to resync. */
  readonly timeoutMs: number
}

export const RESTART_DEFAULTS: RestartOptions = { docs: 100, clientsPerDoc: 10, updatesPerDoc: 200, signals: ['SIGTERM', 'SIGKILL'], timeoutMs: 120_000 }

export interface RestartRound {
  readonly signal: RestartSignal
  /** Stop signal sent → the new process listens, ms. */
  readonly downMs: number
  /** The new process listens → each client synced again, ms. */
  readonly resyncMs: Distribution
  /** The new process listens → every client synced again, ms (null: not within the timeout). */
  readonly allSyncedMs: number | null
  readonly resynced: number
  /** Documents whose text is the same as before the stop in every replica and in a fresh client. */
  readonly intactDocs: number
  readonly server: ServerFigures
}

export interface RestartResult extends ScenarioResultBase {
  readonly scenario: 'restart'
  readonly params: RestartOptions
  readonly rounds: readonly RestartRound[]
}

export const runRestart = async (options: RestartOptions, context: ScenarioContext): Promise<RestartResult> => {
  const server = await context.target.start({ validationGate: true })
  const problems: string[] = []
  const rounds: RestartRound[] = []
  const clients: BenchClient[] = []
  try {
    if (!server.restart) throw new Error('the restart scenario restarts its server: it cannot run with --url')
    const token = await benchToken(server.httpUrl, { user: 'restart-editor', role: 'editor', tenant: 'bench' })
    const rooms = Array.from({ length: options.docs }, (_, doc) => `proposal/restart-${context.runId}-${doc}`)
    context.log(`restart: ${options.docs} docs × ${options.clientsPerDoc} clients, ${options.updatesPerDoc} inserts per doc`)
    for (const room of rooms) {
      const first = connectBenchClient({ url: server.url, room, token })
      clients.push(first)
      await first.whenSynced(options.timeoutMs)
      createParagraph(first.doc)
      for (let k = 1; k < options.clientsPerDoc; k++) clients.push(connectBenchClient({ url: server.url, room, token }))
      await yieldToEventLoop()
    }
    await waitUntil(() => clients.every((client) => client.provider.synced && paragraphText(client.doc) !== null), { timeoutMs: options.timeoutMs, intervalMs: 50 })
    for (let i = 0; i < options.updatesPerDoc; i++) {
      for (let doc = 0; doc < options.docs; doc++) {
        const client = clients[doc * options.clientsPerDoc + (i % options.clientsPerDoc)]!
        const text = paragraphText(client.doc)
        text?.insert(text.length, String.fromCharCode(97 + (i % 26)))
      }
      if (i % 20 === 19) await sleep(10)
    }
    const expected = (doc: number) => textOf(clients[doc * options.clientsPerDoc]!.doc)
    const settled = await waitUntil(
      () => rooms.every((_, doc) => clients.slice(doc * options.clientsPerDoc, (doc + 1) * options.clientsPerDoc).every((client) => textOf(client.doc).length === options.updatesPerDoc && textOf(client.doc) === expected(doc))),
      { timeoutMs: options.timeoutMs, intervalMs: 100 },
    )
    if (!settled) throw new Error('the documents did not settle before the restart')
    const before = rooms.map((_, doc) => expected(doc))

    for (const signal of options.signals) {
      const stoppedAt = performance.now()
      const resyncAt = new Map<BenchClient, number>()
      const wasDown = new Set<BenchClient>()
      const listeners = clients.map((client) => {
        const onStatus = ({ status }: { status: string }) => {
          if (status !== 'connected') wasDown.add(client)
        }
        const onSync = (synced: boolean) => {
          if (synced && wasDown.has(client) && !resyncAt.has(client)) resyncAt.set(client, performance.now())
        }
        client.provider.on('status', onStatus)
        client.provider.on('sync', onSync)
        return () => {
          client.provider.off('status', onStatus)
          client.provider.off('sync', onSync)
        }
      })
      await server.restart(signal)
      const listeningAt = performance.now()
      const window = openWindow(server.pid)
      const all = await waitUntil(() => resyncAt.size === clients.length, { timeoutMs: options.timeoutMs, intervalMs: 20 })
      const measured = window.close()
      for (const stop of listeners) stop()
      let intact = 0
      for (let doc = 0; doc < options.docs; doc++) {
        const replicas = clients.slice(doc * options.clientsPerDoc, (doc + 1) * options.clientsPerDoc)
        const fresh = connectBenchClient({ url: server.url, room: rooms[doc]!, token })
        await fresh.whenSynced(options.timeoutMs)
        if (replicas.every((client) => textOf(client.doc) === before[doc]) && textOf(fresh.doc) === before[doc]) intact++
        fresh.destroy()
      }
      const times = [...resyncAt.values()].map((at) => at - listeningAt)
      rounds.push({
        signal,
        downMs: round(listeningAt - stoppedAt, 0),
        resyncMs: distribution(times),
        allSyncedMs: all ? round(Math.max(...times), 0) : null,
        resynced: resyncAt.size,
        intactDocs: intact,
        server: serverFigures(measured.serverStart, measured.serverEnd, measured.serverEnd.rssKiB, server.warnings()),
      })
      context.log(`restart (${signal}): ${resyncAt.size}/${clients.length} resynced, all in ${all ? round(Math.max(...times), 0) : 'never'} ms, ${intact}/${options.docs} docs intact`)
      if (!all) problems.push(`${signal}: ${clients.length - resyncAt.size} clients did not resync within ${options.timeoutMs} ms`)
      if (intact < options.docs) problems.push(`${signal}: ${options.docs - intact} documents not intact after the restart`)
    }
  } finally {
    destroyAll(clients)
    await server.stop()
  }
  return { scenario: 'restart', params: options, rounds, ok: problems.length === 0, problems }
}

const textOf = (doc: Y.Doc): string => paragraphText(doc)?.toString() ?? ''
