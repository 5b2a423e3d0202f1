import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { COMPRESSION_MIX_DEFAULTS, runCompressionMix, zlibContextKiB, type CompressionMixResult } from './compression.ts'
import { LARGE_DOCUMENT_DEFAULTS, runLargeDocument, type LargeDocumentResult, type LoadFigures } from './scenarios/largeDocument.ts'
import { hocuspocusFile, ourServer, type LargeDocTarget } from './scenarios/largeDocumentTargets.ts'
import { distribution } from './statistics.ts'

/**
 * `npm run bench:large`: large documents (cold load and first sync of 5 and 20 MB proposals)
 * against Hocuspocus+files in the same run when `--peerbench-dir` names a peerbench copy (ours
 * alone without it), and the compression mix (bench/compression.ts) at each threshold given.
 */
const HELP = `npm run bench:large -- [options]
  --part large,compression        what to run (default both; zlib: only what a kept zlib context costs)
  --sizes 5,20                    document sizes for "large", MB of updates written
  --loads 3 --joins 3             cold loads (a restart before each) and first syncs per size
  --edits-per-update 8            edits the writer makes per update
  --threshold N[,M]               our server's --ws-compression-threshold for "large", one row each (default: the server's default)
  --thresholds 0,16384            the settings the compression mix compares
  --mix-size 5 --mix-clients 30 --mix-edits 300
  --peerbench-dir DIR             a peerbench copy (npm ci done): Hocuspocus+files runs too
  --seed 1`

/**
 * A 20 MB proposal is past the default maximum document size (8 MiB): the operator raises it, and
 * the send buffer a joiner may fill with it (the document plus 1 MiB of headroom), to 24 and 26 MiB.
 */
const LARGE_LIMITS = ['--max-document-bytes', String(24 * 1024 * 1024), '--max-buffered', String(26 * 1024 * 1024)]

const { values } = parseArgs({
  options: {
    part: { type: 'string', default: 'large,compression' },
    sizes: { type: 'string', default: LARGE_DOCUMENT_DEFAULTS.sizesMB.join(',') },
    loads: { type: 'string', default: String(LARGE_DOCUMENT_DEFAULTS.loads) },
    joins: { type: 'string', default: String(LARGE_DOCUMENT_DEFAULTS.joins) },
    'edits-per-update': { type: 'string', default: String(LARGE_DOCUMENT_DEFAULTS.editsPerUpdate) },
    threshold: { type: 'string' },
    thresholds: { type: 'string', default: '0,16384' },
    'mix-size': { type: 'string', default: String(COMPRESSION_MIX_DEFAULTS.sizeMB) },
    'mix-clients': { type: 'string', default: String(COMPRESSION_MIX_DEFAULTS.clients) },
    'mix-edits': { type: 'string', default: String(COMPRESSION_MIX_DEFAULTS.edits) },
    'peerbench-dir': { type: 'string' },
    seed: { type: 'string', default: '1' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
})
if (values.help) {
  console.log(HELP)
  process.exit(0)
}
const numbers = (text: string) => text.split(',').map((part) => {
  const value = Number(part)
  if (!Number.isFinite(value) || value < 0) throw new Error(`not a number: ${part}\n${HELP}`)
  return value
})
const parts = new Set(values.part.split(','))
const log = (line: string) => process.stderr.write(`${line}\n`)

const ours = (name: string, threshold: string | undefined, extra: readonly string[] = []) =>
  ourServer(name, [...LARGE_LIMITS, ...(threshold === undefined ? [] : ['--ws-compression-threshold', threshold]), ...extra])

const withTarget = async <T>(start: () => Promise<LargeDocTarget>, run: (target: LargeDocTarget) => Promise<T>): Promise<T> => {
  const target = await start()
  try {
    return await run(target)
  } finally {
    await target.stop()
  }
}

// Measured first, in a process that has not yet allocated and freed documents (RSS moves only by the contexts).
const zlibContext = parts.has('compression') || parts.has('zlib') ? await zlibContextKiB() : null

const large: LargeDocumentResult[] = []
const mix: Array<CompressionMixResult & { threshold: number }> = []
const startedAt = new Date().toISOString()

if (parts.has('large')) {
  const options = {
    ...LARGE_DOCUMENT_DEFAULTS,
    sizesMB: numbers(values.sizes),
    loads: Number(values.loads),
    joins: Number(values.joins),
    editsPerUpdate: Number(values['edits-per-update']),
    seed: Number(values.seed),
  }
  const thresholds = values.threshold === undefined ? [undefined] : values.threshold.split(',')
  const starters: Array<() => Promise<LargeDocTarget>> = thresholds.map(
    (threshold) => () => ours(threshold === undefined ? 'ours' : threshold === '0' ? 'ours, compression off' : `ours, compression ≥ ${threshold} B`, threshold),
  )
  if (values['peerbench-dir']) starters.push(() => hocuspocusFile(path.resolve(values['peerbench-dir']!)))
  else log('no --peerbench-dir: ours alone')
  for (const sizeMB of options.sizesMB) {
    for (const start of starters) large.push(await withTarget(start, (target) => runLargeDocument(target, sizeMB, options, log)))
  }
}

if (parts.has('compression')) {
  const options = {
    ...COMPRESSION_MIX_DEFAULTS,
    sizeMB: Number(values['mix-size']),
    clients: Number(values['mix-clients']),
    edits: Number(values['mix-edits']),
    seed: Number(values.seed),
  }
  for (const threshold of numbers(values.thresholds)) {
    const name = threshold === 0 ? 'ours, compression off' : `ours, compression ≥ ${threshold} B`
    mix.push({ threshold, ...(await withTarget(() => ours(name, String(threshold)), (target) => runCompressionMix(target, options, log))) })
  }
}

const p50 = (loads: readonly LoadFigures[], pick: (load: LoadFigures) => number | null) =>
  distribution(loads.map(pick).filter((value): value is number => value !== null)).p50
const kb = (bytes: number) => Math.round(bytes / 1000)

if (large.length > 0) {
  console.log('\nLarge documents (p50 over the loads; bytes: what the client received)')
  console.log('| server | size MB | state bytes | updates | write ms | cold: synced / full ms | cold: server CPU ms | cold: RSS peak MiB | cold: KB received | first sync: full ms | first sync: server CPU ms | first sync: KB received |')
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const r of large) {
    console.log(
      `| ${r.target} | ${r.sizeMB} | ${r.stateBytes} | ${r.updates} | ${r.writeMs} | ${p50(r.coldLoads, (l) => l.syncedMs)} / ${p50(r.coldLoads, (l) => l.fullContentMs)} | ${p50(r.coldLoads, (l) => l.serverCpuMs)} | ${p50(r.coldLoads, (l) => l.serverRssPeakMiB)} | ${kb(p50(r.coldLoads, (l) => l.bytesReceived))} | ${p50(r.firstSyncs, (l) => l.fullContentMs)} | ${p50(r.firstSyncs, (l) => l.serverCpuMs)} | ${kb(p50(r.firstSyncs, (l) => l.bytesReceived))} |`,
    )
  }
}
if (zlibContext) console.log(`\nzlib contexts as the server keeps them per socket once used: deflate ${zlibContext.deflate} KiB (zlib's default memLevel: ${zlibContext.deflateMemLevel8}), inflate ${zlibContext.inflate} KiB`)
if (mix.length > 0) {
  console.log('\nCompression mix (all clients together; KB to clients = what the server sent)')
  console.log('| setting | join storm: ms / server CPU ms / KB to clients | RSS per joined connection KiB | typing: server CPU ms / B to clients per edit | reconnect storm: ms / server CPU ms / KB to clients / KB from clients |')
  console.log('|---|---|---|---|---|')
  for (const r of mix) {
    console.log(
      `| ${r.target} | ${r.joinStorm.ms} / ${r.joinStorm.serverCpuMs} / ${kb(r.joinStorm.bytesToClients)} | ${r.rssPerJoinedConnectionKiB} | ${r.typing.serverCpuMs} / ${r.typing.bytesToClientsPerEdit} | ${r.reconnectStorm.ms} / ${r.reconnectStorm.serverCpuMs} / ${kb(r.reconnectStorm.bytesToClients)} / ${kb(r.reconnectStorm.bytesFromClients)} |`,
    )
  }
}

const failed =
  large.some((r) => [...r.coldLoads, ...r.firstSyncs].some((load) => !load.contentOk)) ||
  mix.some((r) => !r.joinStorm.converged || !r.typing.converged || !r.reconnectStorm.converged)
const report = { bench: 'large-documents', startedAt, large, mix, zlibContext, ok: !failed }
const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results')
mkdirSync(resultsDir, { recursive: true })
writeFileSync(path.join(resultsDir, `large-${startedAt.replace(/[:.]/g, '-')}.json`), JSON.stringify(report, null, 2))
console.log(JSON.stringify(report))
if (failed) {
  log('correctness check failed: content incomplete or replicas not converged')
  process.exit(3)
}
process.exit(0)
