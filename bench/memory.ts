import { spawn } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import path from 'node:path'
import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { tempDir } from '../shared/testing/tempDir.ts'
import { benchToken, connectBenchClient, createParagraph, destroyAll, type BenchClient } from './clients.ts'
import { growth, HeapInspector, inspectorUrlIn, type HeapFigures, type TypeSummary } from './heapInspector.ts'
import { readProcStats, waitForIdle } from './procStats.ts'
import { BENCH_SERVER_ARGS } from './serverProcess.ts'
import { round } from './statistics.ts'
import { waitUntil } from './waitUntil.ts'

/**
 * `npm run bench:memory`: where an idle connection's memory goes. The built server
 * (`dist/server/main.js`, as deployed and as peerbench runs it) is started with its inspector on
 * 127.0.0.1; N stock providers connect at R per second, each to its own new proposal (the first
 * client of a document creates the body's paragraph, as an editor does and as peerbench's
 * `connections` scenario does). Reported per connection: the RSS growth as the process shows it
 * (garbage included, peerbench's figure), then after a forced full collection the RSS, the live JS
 * heap, memory outside the heap (ArrayBuffers, sockets' buffers), each heap space, and with
 * `--breakdown` the object types that grew most (heap snapshots before and after).
 *
 * For digging further, from the environment: SERVER_NODE_ARGS (node flags for the server, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/p` or `--trace-gc`), SERVER_STDERR (a file for the server's
 * output, with --trace-gc's lines), SMAPS_DIR (its /proc/PID/smaps before and after).
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const SERVER_MAIN = path.join(ROOT, 'dist/server/main.js')

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '2000' },
    rate: { type: 'string', default: '500' },
    hold: { type: 'string', default: '2000' },
    breakdown: { type: 'boolean', default: false },
    /** Where the bytes that reached old space were allocated (sampled; live and freed by a full GC). */
    allocations: { type: 'boolean', default: false },
    top: { type: 'string', default: '30' },
    /** With --breakdown: also write the two snapshots there (before.heapsnapshot, after.heapsnapshot) for DevTools. */
    'snapshot-dir': { type: 'string' },
  },
})
const connections = Number(values.connections)
const ratePerSec = Number(values.rate)
const holdMs = Number(values.hold)

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })

const save = (name: string) => (json: string): void => {
  if (values['snapshot-dir']) writeFileSync(path.join(values['snapshot-dir'], `${name}.heapsnapshot`), json)
}

/**
 * The process's resident memory by kind of mapping (/proc/PID/smaps): the main malloc heap
 * ([heap]), other anonymous mappings (V8's heap pages, malloc's per-thread arenas and large
 * blocks), files (code, LevelDB's tables) and the rest, KiB.
 */
const residentByKind = (pid: number): Record<string, number> => {
  const kinds: Record<string, number> = {}
  let kind = 'other'
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line)
    if (header) {
      const name = header[1]!.trim()
      kind = name === '' ? 'anonymous' : name === '[heap]' ? '[heap]' : name.startsWith('/') ? 'files' : 'other'
      continue
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line)
    if (rss) kinds[kind] = (kinds[kind] ?? 0) + Number(rss[1])
  }
  return kinds
}

const kib = (bytes: number): number => round(bytes / 1024, 1)

const perConnection = (before: HeapFigures, after: HeapFigures, n: number): Record<string, number> => {
  const row: Record<string, number> = {
    'rss KiB': kib((after.rss - before.rss) / n),
    'heap used KiB': kib((after.heapUsed - before.heapUsed) / n),
    'heap reserved KiB': kib((after.heapTotal - before.heapTotal) / n),
    'external KiB': kib((after.external - before.external) / n),
    'array buffers KiB': kib((after.arrayBuffers - before.arrayBuffers) / n),
  }
  for (const [space, { size, used }] of Object.entries(after.spaces)) {
    const was = before.spaces[space] ?? { size: 0, used: 0 }
    row[`${space} reserved / used KiB`] = kib((size - was.size) / n)
    row[`${space} used KiB`] = kib((used - was.used) / n)
  }
  return row
}

const main = async (): Promise<void> => {
  if (!existsSync(SERVER_MAIN)) throw new Error('dist/server/main.js is missing: run `npm run build` first')
  const data = await tempDir('posalpro-bench-memory-')
  const port = await freePort()
  const stderr: string[] = []
  const child = spawn(
    process.execPath,
    [...(process.env.SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean), SERVER_MAIN, '--dev', '--log-level', 'warn', '--host', '127.0.0.1', '--port', String(port), '--data-dir', data.path, ...BENCH_SERVER_ARGS],
    { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '--inspect=127.0.0.1:0' }, stdio: ['ignore', process.env.SERVER_STDERR ? 'pipe' : 'ignore', 'pipe'] },
  )
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(...chunk.toString('utf8').split('\n')))
  child.stdout?.on('data', (chunk: Buffer) => stderr.push(...chunk.toString('utf8').split('\n')))
  const clients: BenchClient[] = []
  let inspector: HeapInspector | null = null
  try {
    const httpUrl = `http://127.0.0.1:${port}`
    const deadline = performance.now() + 30_000
    let token: string | null = null
    while (token === null) {
      try {
        token = await benchToken(httpUrl, { user: 'idle-editor', role: 'editor', tenant: 'bench' })
      } catch (error) {
        if (performance.now() > deadline || child.exitCode !== null) throw new Error(`the server did not answer: ${String(error)}\n${stderr.join('\n')}`)
        await sleep(100)
      }
    }
    const inspectorUrl = inspectorUrlIn(stderr)
    if (inspectorUrl === null) throw new Error(`no inspector URL in the server's stderr:\n${stderr.join('\n')}`)
    inspector = await HeapInspector.connect(inspectorUrl)
    const pid = child.pid!
    await waitForIdle(pid, { quietMs: 300, maxMs: 5000 })

    const rssBeforeKiB = readProcStats(pid).rssKiB
    const residentBefore = residentByKind(pid)
    if (process.env.SMAPS_DIR) writeFileSync(path.join(process.env.SMAPS_DIR, 'before.smaps'), readFileSync(`/proc/${pid}/smaps`))
    const beforeUncollected = await inspector.figures()
    await inspector.collectGarbage()
    const before = await inspector.figures()
    const snapshotBefore: TypeSummary | null = values.breakdown ? await inspector.snapshot(save('before')) : null

    if (values.allocations) await inspector.startSampling(true)
    const startedAt = performance.now()
    for (let i = 0; i < connections; i++) {
      const client = connectBenchClient({ url: `ws://127.0.0.1:${port}`, room: `proposal/memory-${i}`, token, label: `idle-${i}` })
      client.provider.once('sync', () => createParagraph(client.doc))
      clients.push(client)
      const wait = startedAt + ((i + 1) * 1000) / ratePerSec - performance.now()
      if (wait > 0) await sleep(wait)
      else if (i % 50 === 49) await yieldToEventLoop()
    }
    await waitUntil(() => clients.every((client) => client.provider.synced), { timeoutMs: 120_000, intervalMs: 50 })
    await sleep(holdMs)
    await waitForIdle(pid, { quietMs: 300, maxMs: 10_000 })
    const rssAfterKiB = readProcStats(pid).rssKiB
    const residentAfter = residentByKind(pid)
    if (process.env.SMAPS_DIR) writeFileSync(path.join(process.env.SMAPS_DIR, 'after.smaps'), readFileSync(`/proc/${pid}/smaps`))
    const afterUncollected = await inspector.figures()
    // A full collection first: what it frees stays in the profile, what scavenges freed is left out.
    if (values.allocations) await inspector.collectGarbage()
    const allocations = values.allocations ? await inspector.stopSampling(Number(values.top)) : null
    const closed = clients.reduce((sum, client) => sum + client.serverCloses.length, 0)

    await inspector.collectGarbage()
    const after = await inspector.figures()
    const snapshotAfter: TypeSummary | null = values.breakdown ? await inspector.snapshot(save('after')) : null

    console.log(`${connections} idle connections (each its own new document) at ${ratePerSec}/s, held ${holdMs} ms; server closed ${closed}`)
    console.log(`RSS ${round(rssBeforeKiB / 1024, 1)} → ${round(rssAfterKiB / 1024, 1)} MiB: ${round((rssAfterKiB - rssBeforeKiB) / connections, 1)} KiB per connection as the process shows it (peerbench's figure)`)
    console.log(`resident growth by mapping, KiB per connection: ${Object.keys(residentAfter).map((kind) => `${kind} ${round(((residentAfter[kind] ?? 0) - (residentBefore[kind] ?? 0)) / connections, 1)}`).join(', ')}`)
    console.log('per connection: as the process holds it (garbage included) | after a forced full GC (live)')
    const uncollected = perConnection(beforeUncollected, afterUncollected, connections)
    const live = perConnection(before, after, connections)
    const spaces = (figures: HeapFigures): string => Object.entries(figures.spaces).filter(([, { size }]) => size > 0).map(([space, { size, used }]) => `${space} ${round(size / 2 ** 20, 1)}/${round(used / 2 ** 20, 1)}`).join(', ')
    console.log(`heap spaces, MiB reserved/used, before: ${spaces(beforeUncollected)}`)
    console.log(`heap spaces, MiB reserved/used, after:  ${spaces(afterUncollected)}`)
    console.table(Object.fromEntries(Object.keys(live).filter((key) => uncollected[key] !== 0 || live[key] !== 0).map((key) => [key, { uncollected: uncollected[key], live: live[key] }])))
    if (allocations) {
      console.log(`allocated while connecting, surviving scavenges (live now or freed by a full GC): ${kib(allocations.total / connections)} KiB per connection; by site:`)
      console.table(allocations.sites.map(({ site, bytes }) => ({ site: site.slice(0, 150), KiB: kib(bytes / connections) })))
    }
    if (snapshotBefore && snapshotAfter) {
      console.log('heap snapshot growth per connection (self sizes, bytes):')
      console.table(growth(snapshotBefore, snapshotAfter, connections, Number(values.top)).map((row) => ({ ...row, bytesPer: Math.round(row.bytesPer), countPer: round(row.countPer, 2) })))
    }
    if (process.env.SERVER_STDERR) writeFileSync(process.env.SERVER_STDERR, stderr.join('\n'))
  } finally {
    inspector?.close()
    for (let i = 0; i < clients.length; i += 200) {
      destroyAll(clients.slice(i, i + 200))
      await yieldToEventLoop()
    }
    child.kill('SIGTERM')
    await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)))
    await data.remove()
  }
}

await main()
