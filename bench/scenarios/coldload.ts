import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises'
import * as Y from 'yjs'
import { ackCovers, benchToken, connectBenchClient, createParagraph, ownClock, paragraphText, type BenchClient } from '../clients.ts'
import { openWindow } from '../measuredWindow.ts'
import { readProcStats, usageBetween, waitForIdle, type GeneratorUsage, type MachineUsage } from '../procStats.ts'
import type { ScenarioContext, ScenarioResultBase } from '../scenario.ts'
import type { BenchServer } from '../serverProcess.ts'
import { distribution, mib, randomInt, round, seededRandom, type Distribution } from '../statistics.ts'
import { waitUntil } from '../waitUntil.ts'

/**
 * `coldload`: how long a fresh client waits for a big document that is not in the server's memory.
 * One editor writes U (10,000) small inserts at random positions into a proposal's body, each its
 * own update message, and waits until the server's ack says all of them are durable. Then the
 * server is restarted (a new process on the same data directory) and a fresh client opens the
 * document; we time connect → `synced` and connect → the whole body is there, R times (a restart
 * before each). `synced` must never fire before the content is there: a client that shows
 * "synced" with an empty body would let its user start editing the wrong state.
 *
 * Against a given server (`--url`) there is no restart: the bench waits `unloadWaitMs` instead, so
 * the document is cold only if the server unloads it when its last client left.
 */

export interface ColdloadOptions {
  /** Inserts written (one update message each). */
  readonly updates: number
  /** Cold loads, each after a restart. */
  readonly repeats: number
  /** Longest wait for the writes to be acked and for one load. */
  readonly timeoutMs: number
  /** `--url` only: how long to wait for the server to unload the document between loads. */
  readonly unloadWaitMs: number
}

export const COLDLOAD_DEFAULTS: ColdloadOptions = { updates: 10_000, repeats: 3, timeoutMs: 60_000, unloadWaitMs: 12_000 }

export interface ColdLoad {
  /** A new server process (false: `--url`, the bench waited for an unload instead). */
  readonly restarted: boolean
  /** Provider created (connect) → `synced`. */
  readonly syncedMs: number
  /** connect → the whole body is in the client's doc (null: not within the timeout). */
  readonly fullContentMs: number | null
  /** The body was complete when `synced` fired. */
  readonly contentAtSynced: boolean
  /** The body equals what the writer wrote. */
  readonly contentOk: boolean
  /** Server CPU from connect until full content, ms (schedstat where available). */
  readonly serverCpuMs: number
  /** Server RSS once the document is loaded, MiB. */
  readonly serverRssAfterMiB: number
  readonly generator: GeneratorUsage
  readonly machine: MachineUsage
}

export interface ColdloadResult extends ScenarioResultBase {
  readonly scenario: 'coldload'
  readonly params: ColdloadOptions
  /** Characters in the written body. */
  readonly docChars: number
  /** Size of the document's state as one update, bytes. */
  readonly stateBytes: number
  /** First insert → the server acked the last one as durable, ms. */
  readonly writeAndAckMs: number
  readonly loads: ColdLoad[]
  readonly syncedMs: Distribution
  readonly fullContentMs: Distribution
  /** warn-level lines the server logged (all its processes). */
  readonly warnings: string[]
}

const bodyOf = (doc: Y.Doc): string => doc.getXmlFragment('body').toString()

/** Writes the inserts and waits until the server acknowledged all of them as durable. */
const writeDocument = async (server: BenchServer, room: string, options: ColdloadOptions, context: ScenarioContext) => {
  const token = await benchToken(server.httpUrl, { user: 'coldload-writer', role: 'editor', tenant: 'bench' })
  const writer = connectBenchClient({ url: server.url, room, token, label: 'coldload-writer', ext: true })
  try {
    if (!(await writer.whenSynced(30_000))) throw new Error('coldload: the writer did not sync')
    const text = createParagraph(writer.doc)
    const random = seededRandom(context.seed)
    const startedAt = performance.now()
    for (let i = 0; i < options.updates; i++) {
      text.insert(randomInt(random, text.length + 1), `${i},`)
      if (i % 100 === 99) await yieldToEventLoop()
    }
    const clock = ownClock(writer.doc)
    const acked = await waitUntil(() => ackCovers(writer.lastAck(), writer.doc.clientID, clock), { timeoutMs: options.timeoutMs, intervalMs: 20 })
    if (!acked) throw new Error(`coldload: the server did not ack the ${options.updates} inserts within ${options.timeoutMs} ms`)
    return {
      expected: bodyOf(writer.doc),
      docChars: text.length,
      stateBytes: Y.encodeStateAsUpdate(writer.doc).byteLength,
      writeAndAckMs: round(performance.now() - startedAt, 0),
    }
  } finally {
    writer.destroy()
  }
}

/** One fresh client opening the cold document: connect → synced, connect → full content. */
const loadOnce = async (
  server: BenchServer,
  room: string,
  { expected, docChars }: { expected: string; docChars: number },
  restarted: boolean,
  options: ColdloadOptions,
): Promise<ColdLoad> => {
  const token = await benchToken(server.httpUrl, { user: 'coldload-reader', role: 'editor', tenant: 'bench' })
  const window = openWindow(server.pid)
  const doc = new Y.Doc()
  let fullAt: number | null = null
  let syncedAt: number | null = null
  let contentAtSynced = false
  const expectedChars = expected.length
  // The cheap length test first: the body grows in a few big updates, the string compare runs once or twice.
  const hasFullContent = () => (paragraphText(doc)?.length ?? 0) >= docChars && bodyOf(doc).length === expectedChars && bodyOf(doc) === expected
  doc.on('update', () => {
    if (fullAt === null && hasFullContent()) fullAt = performance.now()
  })
  const connectAt = performance.now()
  const client: BenchClient = connectBenchClient({ url: server.url, room, token, label: 'coldload-reader', doc })
  client.provider.on('sync', (synced: boolean) => {
    if (!synced || syncedAt !== null) return
    syncedAt = performance.now()
    contentAtSynced = hasFullContent()
  })
  try {
    await waitUntil(() => fullAt !== null && syncedAt !== null, { timeoutMs: options.timeoutMs, intervalMs: 2 })
    const figures = window.close()
    const end = readProcStats(server.pid)
    const usage = usageBetween(figures.serverStart, figures.serverEnd)
    return {
      restarted,
      syncedMs: syncedAt === null ? Number.NaN : round((syncedAt as number) - connectAt),
      fullContentMs: fullAt === null ? null : round((fullAt as number) - connectAt),
      contentAtSynced,
      contentOk: bodyOf(doc) === expected,
      serverCpuMs: round(usage.cpuMsPrecise ?? usage.cpuMs),
      serverRssAfterMiB: mib(end.rssKiB),
      generator: figures.generator,
      machine: figures.machine,
    }
  } finally {
    client.destroy()
  }
}

export const runColdload = async (options: ColdloadOptions, context: ScenarioContext): Promise<ColdloadResult> => {
  const server = await context.target.start({ validationGate: true })
  try {
    const room = `proposal/coldload-${context.runId}`
    context.log(`coldload: server pid ${server.pid}; writing ${options.updates} inserts`)
    const written = await writeDocument(server, room, options, context)
    context.log(`coldload: ${written.docChars} chars written and acked in ${written.writeAndAckMs} ms`)
    const loads: ColdLoad[] = []
    for (let r = 0; r < options.repeats; r++) {
      await waitForIdle(server.pid) // background work (compaction) of the writes or the last load is done
      if (server.restart) await server.restart()
      else await sleep(options.unloadWaitMs)
      await waitForIdle(server.pid, { quietMs: 300, maxMs: 5000 })
      const load = await loadOnce(server, room, written, server.restart !== null, options)
      loads.push(load)
      context.log(
        `coldload #${r + 1}: synced ${load.syncedMs} ms, full content ${load.fullContentMs ?? 'never'} ms, ` +
          `content at synced ${load.contentAtSynced}, server ${load.serverCpuMs} ms CPU, others ${load.machine.otherCores}`,
      )
      if (load.fullContentMs === null) break // more repeats would only wait for the timeout again
    }
    const problems: string[] = []
    loads.forEach((load, i) => {
      if (load.fullContentMs === null) problems.push(`load ${i + 1}: the full content did not arrive within ${options.timeoutMs} ms`)
      else if (!load.contentOk) problems.push(`load ${i + 1}: the loaded body differs from what was written`)
      if (!load.contentAtSynced) problems.push(`load ${i + 1}: synced fired before the content was there`)
    })
    return {
      scenario: 'coldload',
      params: options,
      docChars: written.docChars,
      stateBytes: written.stateBytes,
      writeAndAckMs: written.writeAndAckMs,
      loads,
      syncedMs: distribution(loads.map((load) => load.syncedMs)),
      fullContentMs: distribution(loads.flatMap((load) => (load.fullContentMs === null ? [] : [load.fullContentMs]))),
      warnings: server.warnings().slice(0, 5),
      ok: problems.length === 0,
      problems,
    }
  } finally {
    await server.stop()
  }
}
