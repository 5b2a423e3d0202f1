import { parseArgs } from 'node:util'
import { spawnServer } from '../shared/testing/serverProcess.ts'
import { tempDir } from '../shared/testing/tempDir.ts'
import { runFuzzCampaign } from '../server/testing/fuzzCampaign.ts'
import { readProcStats, RssSampler } from './procStats.ts'

/**
 * `npm run fuzz -- [--frames N] [--seed S] [--idle-seconds T]`: the CI fuzz campaign, long. A real
 * server process (dev mode, fresh data dir, default limits) takes N hostile frames from attackers
 * with valid tokens while honest stock clients edit; prints frames sent, crashes (the process
 * exiting), peak RSS, and RSS after T seconds idle. Exit 3 when the server crashed or lost an edit.
 */
const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '100000' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    'idle-seconds': { type: 'string', default: '30' },
  },
  strict: true,
})
const frames = Number(values.frames)
const seed = Number(values.seed)
const idleSeconds = Number(values['idle-seconds'])

const dir = await tempDir('posalpro-fuzz-')
const server = await spawnServer({ dataDir: dir.path })
const pid = server.child.pid!
let exit: number | string | null = null
void server.exited.then((code) => (exit = code))
const rss = new RssSampler(pid)
const startedAt = Date.now()
const rssStartMiB = readProcStats(pid).rssKiB / 1024
console.error(`fuzz: seed ${seed}, ${frames} frames, server pid ${pid}`)
let outcome: 'ok' | string = 'ok'
let result
try {
  result = await runFuzzCampaign({
    httpUrl: server.httpUrl,
    url: server.url,
    seed,
    frames,
    progressEvery: 5000,
    onProgress: (sent) => console.error(`  ${sent} frames, ${((Date.now() - startedAt) / 1000).toFixed(0)} s, server RSS ${(readProcStats(pid).rssKiB / 1024).toFixed(0)} MiB`),
    check: () => {
      if (exit !== null) throw new Error(`the server exited (${exit})`)
    },
  })
} catch (error) {
  outcome = (error as Error).message
}
const peakMiB = rss.stop() / 1024
let idleMiB: number | null = null
if (exit === null) {
  await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000))
  idleMiB = readProcStats(pid).rssKiB / 1024
}
const report = {
  seed,
  framesSent: result?.framesSent ?? null,
  seconds: Math.round((Date.now() - startedAt) / 1000) - (exit === null ? idleSeconds : 0),
  crashes: exit === null ? 0 : 1,
  outcome,
  rssStartMiB: Math.round(rssStartMiB),
  rssPeakMiB: Math.round(peakMiB),
  [`rssAfter${idleSeconds}sIdleMiB`]: idleMiB === null ? null : Math.round(idleMiB),
  honestEdits: result?.honestEdits ?? null,
  attackerReconnects: result?.reconnects ?? null,
  closeCodes: result?.closes ?? null,
  byKind: result?.byKind ?? null,
}
console.log(JSON.stringify(report, null, 2))
await server.stop()
await dir.remove()
process.exit(outcome === 'ok' ? 0 : 3)
