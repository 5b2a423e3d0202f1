import { setTimeout as sleep } from 'node:timers/promises'
import zlib from 'node:zlib'
import { readProcStats } from './procStats.ts'
import { round } from './statistics.ts'
import { waitUntil } from './waitUntil.ts'
import { writeLargeDocument } from './scenarios/largeDocument.ts'
import { coversStateVector, sameBytes, type LargeDocTarget, type Replica } from './scenarios/largeDocumentTargets.ts'

/**
 * What permessage-deflate costs and saves on a realistic mix, for one server setting: a proposal of
 * S MB is written; C clients join it at once (first syncs of a large document); they type E single
 * characters round robin, one every `typingIntervalMs` (typing fanout: every keystroke goes to C-1
 * peers); then every client drops, makes a small edit offline and reconnects at once (a reconnect
 * storm, each with its document kept). Per phase: bytes on the wire (all clients, both
 * directions), the server's CPU, and the server's RSS growth per joined connection (zlib
 * contexts are kept per socket). Replicas that do not converge fail the run.
 */
export interface CompressionMixOptions {
  readonly sizeMB: number
  readonly clients: number
  readonly edits: number
  readonly typingIntervalMs: number
  readonly seed: number
  readonly timeoutMs: number
}

export const COMPRESSION_MIX_DEFAULTS: CompressionMixOptions = { sizeMB: 5, clients: 30, edits: 300, typingIntervalMs: 10, seed: 1, timeoutMs: 300_000 }

export interface PhaseFigures {
  readonly ms: number
  readonly serverCpuMs: number
  /** Bytes the server sent (what the clients received), all clients. */
  readonly bytesToClients: number
  /** Bytes the clients sent. */
  readonly bytesFromClients: number
  readonly converged: boolean
}

export interface CompressionMixResult {
  readonly target: string
  readonly stateBytes: number
  readonly joinStorm: PhaseFigures
  /** Server RSS growth from before the joins to after them, per joined connection, KiB. */
  readonly rssPerJoinedConnectionKiB: number
  readonly typing: PhaseFigures & { readonly bytesToClientsPerEdit: number }
  readonly reconnectStorm: PhaseFigures
}

const allEqual = (replicas: readonly Replica[]): boolean => {
  const expected = replicas[0]!.stateVector()
  return replicas.every((replica) => sameBytes(replica.stateVector(), expected))
}

const totals = (replicas: readonly Replica[]) =>
  replicas.reduce((sum, replica) => {
    const wire = replica.wire()
    return { sent: sum.sent + wire.sent, received: sum.received + wire.received }
  }, { sent: 0, received: 0 })

/** Runs `phase` and measures it; `done` is the convergence condition it waits for. */
const measured = async (target: LargeDocTarget, replicas: () => readonly Replica[], phase: () => Promise<void>, done: () => boolean, timeoutMs: number): Promise<PhaseFigures> => {
  const cpuBefore = readProcStats(target.pid()).cpuUs
  const bytesBefore = totals(replicas())
  const startedAt = performance.now()
  await phase()
  const converged = await waitUntil(done, { timeoutMs, intervalMs: 5 })
  const ms = round(performance.now() - startedAt, 0)
  const bytesAfter = totals(replicas())
  return {
    ms,
    serverCpuMs: round((readProcStats(target.pid()).cpuUs - cpuBefore) / 1000, 0),
    bytesToClients: bytesAfter.received - bytesBefore.received,
    bytesFromClients: bytesAfter.sent - bytesBefore.sent,
    converged,
  }
}

export const runCompressionMix = async (target: LargeDocTarget, options: CompressionMixOptions, log: (line: string) => void): Promise<CompressionMixResult> => {
  const room = `proposal/mix-${Date.now().toString(36)}`
  log(`${target.name}: writing ${options.sizeMB} MB`)
  const written = await writeLargeDocument(target, room, options.sizeMB, { editsPerUpdate: 8, seed: options.seed, timeoutMs: options.timeoutMs }, log)
  await sleep(500) // the writer's and checker's sockets close
  const rssBefore = readProcStats(target.pid()).rssKiB
  let replicas: Replica[] = []
  const joinStorm = await measured(
    target,
    () => replicas,
    async () => {
      replicas = await Promise.all(Array.from({ length: options.clients }, (_, i) => target.replica(room, `mix-${i}`)))
    },
    () => replicas.every((replica) => coversStateVector(replica.stateVector(), written.stateVector)),
    options.timeoutMs,
  )
  const rssPerJoinedConnectionKiB = round((readProcStats(target.pid()).rssKiB - rssBefore) / options.clients, 1)
  log(`${target.name}: join storm ${JSON.stringify(joinStorm)}, RSS +${rssPerJoinedConnectionKiB} KiB per connection`)

  const typing = await measured(
    target,
    () => replicas,
    async () => {
      for (let i = 0; i < options.edits; i++) {
        replicas[i % replicas.length]!.appendToFirstParagraph('x')
        await sleep(options.typingIntervalMs)
      }
    },
    () => allEqual(replicas),
    options.timeoutMs,
  )
  log(`${target.name}: typing ${JSON.stringify(typing)}`)

  const reconnectStorm = await measured(
    target,
    () => replicas,
    async () => {
      for (const replica of replicas) replica.disconnect()
      replicas.forEach((replica, i) => replica.appendToFirstParagraph(` [offline ${i}]`))
      for (const replica of replicas) replica.connect()
    },
    () => allEqual(replicas) && replicas.every((replica) => replica.synced),
    options.timeoutMs,
  )
  log(`${target.name}: reconnect storm ${JSON.stringify(reconnectStorm)}`)
  for (const replica of replicas) replica.destroy()
  return {
    target: target.name,
    stateBytes: written.stateBytes,
    joinStorm,
    rssPerJoinedConnectionKiB,
    typing: { ...typing, bytesToClientsPerEdit: round(typing.bytesToClients / options.edits, 0) },
    reconnectStorm,
  }
}

/**
 * What one socket's zlib contexts cost once `ws` has used them (it keeps them for the socket's
 * life): N contexts made as the server makes them (connection/messageCompression.ts: level 1,
 * memLevel 4, the default window; and zlib's default memLevel 8 to compare), each used for one
 * 64 KiB message, RSS growth / N. In this process, so RSS moves only by them.
 */
export const zlibContextKiB = async (count = 300): Promise<{ deflate: number; deflateMemLevel8: number; inflate: number }> => {
  const message = Buffer.alloc(64 * 1024, 'proposal text, paragraph after paragraph; ')
  for (let i = 0; i < message.length; i += 7) message[i] = (i * 31) & 0xff // not one repeated phrase
  const compressed = zlib.deflateRawSync(message, { level: 1, memLevel: 4 })
  const grow = async (make: () => zlib.DeflateRaw | zlib.InflateRaw, input: Buffer) => {
    const before = process.memoryUsage().rss
    const kept: Array<zlib.DeflateRaw | zlib.InflateRaw> = []
    for (let i = 0; i < count; i++) {
      const stream = make()
      stream.on('data', () => {})
      stream.write(input)
      await new Promise<void>((resolve) => stream.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()))
      kept.push(stream)
    }
    const kib = (process.memoryUsage().rss - before) / 1024 / count
    for (const stream of kept) stream.close()
    return round(kib, 0)
  }
  return {
    deflate: await grow(() => zlib.createDeflateRaw({ level: 1, memLevel: 4 }), message),
    deflateMemLevel8: await grow(() => zlib.createDeflateRaw({ level: 1 }), message),
    inflate: await grow(() => zlib.createInflateRaw(), compressed),
  }
}
