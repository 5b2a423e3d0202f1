import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import * as Y from 'yjs'
import { proposalWriter } from '../../shared/testing/largeProposal.ts'
import { readProcStats, RssSampler } from '../procStats.ts'
import { round } from '../statistics.ts'
import { waitUntil } from '../waitUntil.ts'
import { coversStateVector, type LargeDocTarget, type Replica } from './largeDocumentTargets.ts'

/**
 * Large documents: a realistic proposal of S MB (shared/testing/largeProposal.ts: fields, then a
 * body of headings, paragraphs and lists typed a sentence at a time, formatted, typos fixed) is
 * written through one client as many updates (`editsPerUpdate` edits each). Then:
 *
 * - cold load, `loads` times: the server is restarted (a new process on the same data) and a
 *   fresh client opens the document: connect → synced, connect → full content (state vector and
 *   body equal to the writer's), the server's CPU and peak RSS meanwhile, bytes on the wire;
 * - first sync, `joins` times: the document is loaded (the last cold loader stays), a new client
 *   joins: the same figures.
 *
 * Content that is not complete and equal is a failed correctness check (the run exits 3).
 */
export interface LargeDocumentOptions {
  /** Document sizes, MB (10^6 bytes) of updates written (the encoded state is ~0.99 of it). */
  readonly sizesMB: readonly number[]
  readonly loads: number
  readonly joins: number
  readonly editsPerUpdate: number
  readonly seed: number
  readonly timeoutMs: number
}

export const LARGE_DOCUMENT_DEFAULTS: LargeDocumentOptions = { sizesMB: [5, 20], loads: 3, joins: 3, editsPerUpdate: 8, seed: 1, timeoutMs: 300_000 }

export interface LoadFigures {
  readonly syncedMs: number | null
  readonly fullContentMs: number | null
  readonly contentOk: boolean
  readonly serverCpuMs: number
  readonly serverRssPeakMiB: number
  readonly bytesReceived: number
  readonly bytesSent: number
}

export interface WrittenDocument {
  readonly stateBytes: number
  readonly updates: number
  readonly writeMs: number
  readonly writeServerCpuMs: number
  readonly stateVector: Uint8Array
  readonly bodyXml: string
}

export interface LargeDocumentResult extends Omit<WrittenDocument, 'stateVector' | 'bodyXml'> {
  readonly target: string
  readonly sizeMB: number
  readonly coldLoads: LoadFigures[]
  readonly firstSyncs: LoadFigures[]
}

const MB = 1_000_000

/** Writes the proposal through one replica, update by update, and waits until a second replica has all of it. */
export const writeLargeDocument = async (
  target: LargeDocTarget,
  room: string,
  sizeMB: number,
  options: Pick<LargeDocumentOptions, 'editsPerUpdate' | 'seed' | 'timeoutMs'>,
  log: (line: string) => void,
): Promise<WrittenDocument> => {
  const writerReplica = await target.replica(room, 'large-writer')
  if (!(await waitUntil(() => writerReplica.synced, { timeoutMs: 30_000 }))) throw new Error(`${target.name}: the writer did not sync`)
  const doc = new Y.Doc()
  const writer = proposalWriter(doc, options.seed)
  let updates = 0
  doc.on('update', (update: Uint8Array) => {
    updates++
    writerReplica.applyLocal(update)
  })
  const cpuBefore = readProcStats(target.pid()).cpuUs
  const startedAt = performance.now()
  while (writer.bytesWritten < sizeMB * MB) {
    doc.transact(() => {
      for (let i = 0; i < options.editsPerUpdate; i++) writer.next()
    })
    if (updates % 50 === 0) await yieldToEventLoop()
    if (updates % 5000 === 0) log(`  ${target.name}: ${updates} updates, ${round(writer.bytesWritten / MB, 1)} MB`)
  }
  writer.dispose()
  const stateVector = Y.encodeStateVector(doc)
  const bodyXml = doc.getXmlFragment('body').toString()
  const checker = await target.replica(room, 'large-checker')
  const complete = await waitUntil(() => coversStateVector(checker.stateVector(), stateVector), { timeoutMs: options.timeoutMs, intervalMs: 20 })
  const writeMs = round(performance.now() - startedAt, 0)
  const writeServerCpuMs = round((readProcStats(target.pid()).cpuUs - cpuBefore) / 1000, 0)
  checker.destroy()
  writerReplica.destroy()
  if (!complete) throw new Error(`${target.name}: the server did not have the whole ${sizeMB} MB document within ${options.timeoutMs} ms`)
  const stateBytes = Y.encodeStateAsUpdate(doc).byteLength
  doc.destroy()
  return { stateBytes, updates, writeMs, writeServerCpuMs, stateVector, bodyXml }
}

/** One fresh replica opening the document: until it holds all of it. */
export const loadOnce = async (
  target: LargeDocTarget,
  room: string,
  user: string,
  written: Pick<WrittenDocument, 'stateVector' | 'bodyXml'>,
  timeoutMs: number,
): Promise<{ figures: LoadFigures; replica: Replica }> => {
  const pid = target.pid()
  const rss = new RssSampler(pid, 50)
  const before = readProcStats(pid)
  const startedAt = performance.now()
  const replica = await target.replica(room, user)
  let syncedAt: number | null = null
  const full = await waitUntil(
    () => {
      if (syncedAt === null && replica.synced) syncedAt = performance.now()
      return coversStateVector(replica.stateVector(), written.stateVector)
    },
    { timeoutMs, intervalMs: 2 },
  )
  const fullAt = full ? performance.now() : null
  await waitUntil(() => replica.synced, { timeoutMs: 5_000, intervalMs: 2 })
  if (syncedAt === null && replica.synced) syncedAt = performance.now()
  const after = readProcStats(pid)
  const wire = replica.wire()
  return {
    replica,
    figures: {
      syncedMs: syncedAt === null ? null : round(syncedAt - startedAt, 0),
      fullContentMs: fullAt === null ? null : round(fullAt - startedAt, 0),
      contentOk: full && replica.bodyXml() === written.bodyXml,
      serverCpuMs: round((after.cpuUs - before.cpuUs) / 1000, 0),
      serverRssPeakMiB: round(rss.stop() / 1024, 1),
      bytesReceived: wire.received,
      bytesSent: wire.sent,
    },
  }
}

export const runLargeDocument = async (
  target: LargeDocTarget,
  sizeMB: number,
  options: LargeDocumentOptions,
  log: (line: string) => void,
): Promise<LargeDocumentResult> => {
  const room = `proposal/large-${sizeMB}mb-${Date.now().toString(36)}`
  log(`${target.name}: writing ${sizeMB} MB`)
  const { stateVector, bodyXml, ...written } = await writeLargeDocument(target, room, sizeMB, options, log)
  log(`${target.name}: ${written.updates} updates, state ${written.stateBytes} bytes, ${written.writeMs} ms`)
  const coldLoads: LoadFigures[] = []
  let holder: Replica | null = null
  for (let i = 0; i < options.loads; i++) {
    holder?.destroy()
    await target.restart()
    const { figures, replica } = await loadOnce(target, room, `large-cold-${i}`, { stateVector, bodyXml }, options.timeoutMs)
    coldLoads.push(figures)
    holder = replica
    log(`${target.name}: cold load ${i + 1}: ${JSON.stringify(figures)}`)
  }
  const firstSyncs: LoadFigures[] = []
  for (let i = 0; i < options.joins; i++) {
    const { figures, replica } = await loadOnce(target, room, `large-join-${i}`, { stateVector, bodyXml }, options.timeoutMs)
    replica.destroy()
    firstSyncs.push(figures)
    log(`${target.name}: first sync ${i + 1}: ${JSON.stringify(figures)}`)
  }
  holder?.destroy()
  return { target: target.name, sizeMB, ...written, coldLoads, firstSyncs }
}
