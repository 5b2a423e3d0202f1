import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises'
import * as Y from 'yjs'
import { applyTextSplice } from '../shared/textDiff.ts'
import {
  benchToken,
  connectBenchClient,
  createParagraph,
  destroyAll,
  ownClock,
  paragraphText,
  sameStateVector,
  type BenchClient,
} from './clients.ts'
import { openWindow } from './measuredWindow.ts'
import { readProcStats, RssSampler, usageBetween, type GeneratorUsage, type MachineUsage } from './procStats.ts'
import { serverFigures, type ServerFigures } from './scenario.ts'
import type { BenchServer } from './serverProcess.ts'
import { randomInt, round, seededRandom } from './statistics.ts'
import { waitUntil } from './waitUntil.ts'

/**
 * The typing workload that the `gate` and `throughput` scenarios run: D proposal docs × K editors,
 * each typing single characters into the rich-text body (a `<paragraph>` holding one Y.XmlText,
 * created by each doc's first editor) as fast as a flow-control window lets it, mostly at its
 * cursor, and now and then retitling the proposal (its `title` text root). Measured for T seconds after a warm-up; then it
 * waits until every doc's replicas converged and counts the server's CPU up to that point.
 */

export interface TypingLoadOptions {
  readonly docs: number
  readonly clientsPerDoc: number
  /** Measured seconds of load. */
  readonly durationSec: number
  /** Seconds of load before measuring (JIT warm-up of a freshly started server). */
  readonly warmupSec: number
  /**
   * Flow control: a client pauses while more than this many of its own ops have not reached every
   * other client of its doc (0: never pause). Without it the clients outrun the server and the
   * run measures queues, not work.
   */
  readonly window: number
  /** One op in this many is a retitle (a splice of the `title` text root); the rest are single-character inserts. */
  readonly titleEvery: number
  /** How long to wait, after the load, for every doc's replicas to converge. */
  readonly settleTimeoutMs: number
}

export interface TypingRun {
  /** Ops sent in the measured window. */
  readonly opsSent: number
  readonly textInserts: number
  readonly titleSets: number
  readonly opsPerSec: number
  /** Ops integrated by the other editors of their doc, per second of the measured window (K-1 per op). */
  readonly deliveredOpsPerSec: number
  /** Server CPU from the start of the measured window until every doc converged, per op sent. */
  readonly serverCpuUsPerOp: number
  /** Server CPU share during the load itself (1 = one core busy). */
  readonly serverCoresDuringLoad: number
  readonly server: ServerFigures
  /** The load generator during the load. */
  readonly generator: GeneratorUsage
  /** The rest of the machine during the load (other processes on a shared machine). */
  readonly machine: MachineUsage
  /** How often a client found its window full and paused. */
  readonly flowControlPauses: number
  readonly docs: number
  readonly convergedDocs: number
  /** From the end of the load until every doc converged (or the settle timeout). */
  readonly settleMs: number
  /** Characters in the body of doc 0 at the end (how large the texts grew). */
  readonly bodyCharsDoc0: number
  readonly serverCloses: number
  /** Docs the server wrote to (a compensation: it refused one of these valid edits); must be 0. */
  readonly compensatedDocs: number
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz     '

interface DocClients {
  readonly index: number
  readonly clients: BenchClient[]
}

interface Counters {
  ops: number
  textInserts: number
  titleSets: number
  pauses: number
}

/** How many of `client`'s own ops some other replica of its doc has not integrated yet. */
const unseenByPeers = (client: BenchClient, peers: readonly BenchClient[]): number => {
  const mine = ownClock(client.doc)
  let minSeen = mine
  for (const peer of peers) minSeen = Math.min(minSeen, Y.getState(peer.doc.store, client.doc.clientID))
  return mine - minSeen
}

/** Items every replica has integrated from the other editors of its doc (each op counts K-1 times). */
const deliveredOps = (docs: readonly DocClients[]): number => {
  let total = 0
  for (const { clients } of docs) {
    for (const receiver of clients) {
      for (const writer of clients) if (writer !== receiver) total += Y.getState(receiver.doc.store, writer.doc.clientID)
    }
  }
  return total
}

/** One editor typing as fast as the window lets it until `stopAt`. */
const drive = async (
  client: BenchClient,
  peers: readonly BenchClient[],
  docIndex: number,
  random: () => number,
  stopAt: number,
  options: TypingLoadOptions,
  counters: Counters,
): Promise<void> => {
  const text = paragraphText(client.doc)
  if (!text) throw new Error(`${client.label}: no paragraph to type into`)
  let cursor = text.length
  let sinceYield = 0
  let revision = 0
  while (performance.now() < stopAt) {
    if (options.window > 0 && peers.length > 0 && unseenByPeers(client, peers) > options.window) {
      counters.pauses++
      await sleep(1)
      continue
    }
    if (randomInt(random, options.titleEvery) === 0) {
      // The title is a text root: a new title is one splice of what differs (as the app's input sends).
      const title = client.doc.getText('title')
      const next = `Proposal ${docIndex} — revision ${++revision} by ${client.label}`
      client.doc.transact(() => applyTextSplice(title, title.toString(), next))
      counters.titleSets++
    } else {
      // Typing: mostly at the cursor, now and then somewhere else in the paragraph.
      if (cursor > text.length || random() < 0.05) cursor = randomInt(random, text.length + 1)
      text.insert(cursor, LETTERS[randomInt(random, LETTERS.length)]!)
      cursor++
      counters.textInserts++
    }
    counters.ops++
    if (++sinceYield >= 10) {
      sinceYield = 0
      await yieldToEventLoop() // let the sockets deliver, like a browser between keystrokes
    }
  }
}

const docConverged = ({ clients }: DocClients): boolean => {
  const [first, ...rest] = clients
  if (!first) return true
  if (!rest.every((client) => sameStateVector(first.doc, client.doc))) return false
  const body = first.doc.getXmlFragment('body').toString()
  const title = first.doc.getText('title').toString()
  return rest.every((client) => client.doc.getXmlFragment('body').toString() === body && client.doc.getText('title').toString() === title)
}

/**
 * Did anyone but the doc's own editors write to it? The server writes only to compensate a
 * rejected change, and this workload is valid: a foreign client id means the gate refused an edit.
 */
const serverWroteTo = ({ clients }: DocClients): boolean => {
  const writers = new Set(clients.map((client) => client.doc.clientID))
  const first = clients[0]
  return first !== undefined && [...Y.decodeStateVector(Y.encodeStateVector(first.doc)).keys()].some((id) => !writers.has(id))
}

const connectDocs = async (server: BenchServer, options: TypingLoadOptions, { roomPrefix, clientUrl, openTogether = false }: TypingLoadRun): Promise<DocClients[]> => {
  const docs: DocClients[] = []
  for (let d = 0; d < options.docs; d++) {
    const tokens = await Promise.all(
      Array.from({ length: options.clientsPerDoc }, (_, k) => benchToken(server.httpUrl, { user: `editor-${d}-${k}`, role: 'editor', tenant: 'bench' })),
    )
    docs.push({ index: d, clients: [] })
    const connect = (k: number) =>
      docs[d]!.clients.push(connectBenchClient({ url: clientUrl?.(d, k) ?? server.url, room: `${roomPrefix}-${d}`, token: tokens[k]!, label: `editor-${d}-${k}` }))
    // Unless told to open it together, the first editor opens the document before the others, as
    // the single-server figures were always measured.
    connect(0)
    if (!openTogether && !(await docs[d]!.clients[0]!.whenSynced(30_000))) throw new Error(`the first editor of doc ${d} did not sync`)
    for (let k = 1; k < options.clientsPerDoc; k++) connect(k)
  }
  const all = docs.flatMap((doc) => doc.clients)
  const synced = await Promise.all(all.map((client) => client.whenSynced(30_000)))
  if (!synced.every(Boolean)) throw new Error(`${synced.filter((s) => !s).length} of ${all.length} clients did not sync`)
  // The first editor of each doc creates its one paragraph; everyone types into it once it arrived.
  for (const { clients } of docs) {
    const first = clients[0]!
    createParagraph(first.doc)
    first.doc.getText('title').insert(0, 'New proposal')
  }
  if (!(await waitUntil(() => all.every((client) => paragraphText(client.doc) !== null), { timeoutMs: 10_000 }))) {
    throw new Error('the paragraph did not reach every client')
  }
  return docs
}

export interface TypingLoadRun {
  /** For progress lines. */
  readonly label: string
  /** Room names are `<roomPrefix>-<doc index>` (`proposal/...`). */
  readonly roomPrefix: string
  readonly seed: number
  readonly log: (message: string) => void
  /** Where editor `k` of doc `d` connects (default: `server.url`); a cluster spreads them over its nodes. */
  readonly clientUrl?: (doc: number, client: number) => string
  /**
   * Every editor of a doc connects in the same tick (default: the first editor first, synced
   * before the others connect). In a cluster each new doc is then opened on several nodes at once.
   */
  readonly openTogether?: boolean
}

/** Runs the workload once against `server` (which the caller starts and stops). */
export const runTypingLoad = async (server: BenchServer, options: TypingLoadOptions, run: TypingLoadRun): Promise<TypingRun> => {
  let docs: DocClients[] = []
  try {
    run.log(`${run.label}: server pid ${server.pid}; connecting ${options.docs} × ${options.clientsPerDoc} clients`)
    docs = await connectDocs(server, options, run)
    const counters: Counters = { ops: 0, textInserts: 0, titleSets: 0, pauses: 0 }
    const measureFrom = performance.now() + options.warmupSec * 1000
    const stopAt = measureFrom + options.durationSec * 1000

    const drivers = docs.flatMap(({ index, clients }) =>
      clients.map((client, k) =>
        drive(client, clients.filter((peer) => peer !== client), index, seededRandom(run.seed + index * 1000 + k), stopAt, options, counters),
      ),
    )

    // The measured window opens after the warm-up, while the load runs.
    await sleep(Math.max(0, measureFrom - performance.now()))
    const before = { ...counters }
    const deliveredBefore = deliveredOps(docs)
    const window = openWindow(server.pid)
    const rss = new RssSampler(server.pid)
    run.log(`${run.label}: measuring ${options.durationSec} s`)

    await Promise.all(drivers)
    const load = window.close()
    const deliveredInWindow = deliveredOps(docs) - deliveredBefore
    const loadEnd = performance.now()

    const settled = await waitUntil(() => docs.every(docConverged), { timeoutMs: options.settleTimeoutMs, intervalMs: 50 })
    const settleMs = performance.now() - loadEnd
    const serverEnd = readProcStats(server.pid)
    const rssPeakKiB = rss.stop()

    const opsSent = counters.ops - before.ops
    // Server CPU until every replica has everything: the work the load caused, also what was still queued.
    const total = usageBetween(window.serverStart, serverEnd)
    const convergedDocs = settled ? docs.length : docs.filter(docConverged).length
    const all = docs.flatMap((doc) => doc.clients)
    const seconds = load.server.wallMs / 1000
    const result: TypingRun = {
      opsSent,
      textInserts: counters.textInserts - before.textInserts,
      titleSets: counters.titleSets - before.titleSets,
      opsPerSec: round(opsSent / seconds, 0),
      deliveredOpsPerSec: round(deliveredInWindow / seconds, 0),
      serverCpuUsPerOp: round((total.cpuMs * 1000) / Math.max(1, opsSent), 1),
      serverCoresDuringLoad: round(load.server.coresUsed),
      server: serverFigures(window.serverStart, serverEnd, rssPeakKiB, server.warnings()),
      generator: load.generator,
      machine: load.machine,
      flowControlPauses: counters.pauses - before.pauses,
      docs: docs.length,
      convergedDocs,
      settleMs: round(settleMs, 0),
      bodyCharsDoc0: paragraphText(docs[0]!.clients[0]!.doc)?.length ?? 0,
      serverCloses: all.reduce((sum, client) => sum + client.serverCloses.length, 0),
      compensatedDocs: docs.filter(serverWroteTo).length,
    }
    run.log(
      `${run.label}: ${result.opsSent} ops, ${result.opsPerSec} ops/s, ${result.serverCpuUsPerOp} µs/op, server ${result.serverCoresDuringLoad} cores, ` +
        `generator ${result.generator.coresUsed}, others ${result.machine.otherCores}, ${convergedDocs}/${docs.length} converged`,
    )
    return result
  } finally {
    destroyAll(docs.flatMap((doc) => doc.clients))
  }
}

/** The correctness checks of one run (empty when it is sound). */
export const typingLoadProblems = (run: TypingRun, label: string): string[] => {
  const problems: string[] = []
  if (run.convergedDocs < run.docs) problems.push(`${label}: ${run.docs - run.convergedDocs} of ${run.docs} docs did not converge`)
  if (run.serverCloses > 0) problems.push(`${label}: the server closed ${run.serverCloses} connections`)
  if (run.opsSent === 0) problems.push(`${label}: no ops were sent`)
  if (run.compensatedDocs > 0) problems.push(`${label}: the server compensated valid edits in ${run.compensatedDocs} docs`)
  return problems
}
