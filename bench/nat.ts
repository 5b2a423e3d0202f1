import { parseArgs } from 'node:util'
import { eventually } from '../shared/testing/eventually.ts'
import { spawnServer } from '../shared/testing/serverProcess.ts'
import { tempDir } from '../shared/testing/tempDir.ts'
import { proposalBody, runOffice } from '../server/testing/officeWorkload.ts'

/**
 * `node --import tsx bench/nat.ts [-- options]`: an office behind one NAT address against the real
 * server (its own process, DEFAULT limits: unlike the other bench scenarios nothing is raised).
 * `--editors` stock y-websocket clients on 127.0.0.1, each its own user, spread over `--documents`
 * proposals, each typing `--rate` characters/s with an awareness cursor update per keystroke, for
 * `--duration` seconds. Prints one JSON object: disconnects (with close codes), clients that gave
 * up, characters typed, and characters the server has (read back by a fresh client per document).
 * Exit code 3 when any client was disconnected or a character is missing.
 */
const { values } = parseArgs({
  options: {
    editors: { type: 'string', default: '100' },
    documents: { type: 'string', default: '20' },
    rate: { type: 'string', default: '5' },
    duration: { type: 'string', default: '60' },
  },
})
const editors = Number(values.editors)
const documents = Number(values.documents)
const charsPerSecond = Number(values.rate)
const durationMs = Number(values.duration) * 1000
const log = (message: string) => process.stderr.write(`${message}\n`)
const countBy = (items: readonly string[]): Record<string, number> => {
  const counts: Record<string, number> = {}
  for (const item of items) counts[item] = (counts[item] ?? 0) + 1
  return counts
}

const dir = await tempDir('posalpro-nat-')
const server = await spawnServer({ dataDir: dir.path })
let failed = false
try {
  const result = await runOffice({ url: server.url, httpUrl: server.httpUrl, editors, documents, charsPerSecond, durationMs, prefix: 'nat', log })
  let stored = 0
  for (const [room, typed] of result.typedByDocument) {
    const reader = await server.connect(room, { user: 'nat-reader', role: 'viewer' })
    try {
      await reader.whenSynced()
      // Writes still on their way arrive as updates after the sync.
      await eventually(() => {
        if ((proposalBody(reader.doc)?.length ?? 0) < typed) throw new Error(`${room}: not all stored yet`)
      }, { timeoutMs: 15_000 }).catch(() => undefined)
      stored += proposalBody(reader.doc)?.length ?? 0
    } finally {
      reader.destroy()
    }
  }
  const report = {
    editors,
    documents,
    charsPerSecond,
    durationSec: durationMs / 1000,
    disconnects: result.disconnects,
    closeCodes: Object.fromEntries(result.closeCodes),
    gaveUp: result.gaveUp,
    typed: result.typed,
    stored,
    // warn-level lines by message (slow store operations, paused reads, closed peers).
    serverWarnings: countBy(server.logs.filter((line) => line.includes('"level":40')).map((line) => /"msg":"([^"]*)"/.exec(line)?.[1] ?? line)),
  }
  failed = result.disconnects > 0 || stored !== result.typed
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
} finally {
  await server.stop()
  await dir.remove()
}
process.exit(failed ? 3 : 0)
