import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { spawnServer, type ServerProcess } from '../../shared/testing/serverProcess.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { runFuzzCampaign } from '../testing/fuzzCampaign.ts'

/**
 * A bounded, seeded fuzz run in CI: a few thousand hostile frames — garbage and, above all, input
 * that looks valid — from attackers with valid tokens, against a real server process. The process
 * must never exit, health checks must answer throughout, every honest edit made meanwhile must be
 * on the server and every room must still open, and `docs verify` must find every document sound.
 * `npm run fuzz -- --frames 100000` runs a long campaign by hand (`bench/fuzz.ts`).
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261203)
const FRAMES = Number(process.env.FUZZ_FRAMES ?? 3000)

describe(`fuzz (seed ${SEED}, ${FRAMES} frames; replay with FUZZ_SEED=${SEED})`, () => {
  let server: ServerProcess | undefined
  const dir = tempDir('posalpro-fuzz-')
  after(async () => {
    await server?.stop()
    await (await dir).remove()
  })

  test('no hostile frame crashes the server, loses an honest edit or leaves a document unsound', async () => {
    server = await spawnServer({ dataDir: (await dir).path })
    const running = server
    let exit: number | string | null = null
    void running.exited.then((code) => (exit = code))
    const alive = () => {
      if (exit !== null) throw new Error(`the server exited (${exit}) during the fuzz run (seed ${SEED}):\n${running.logs.slice(-20).join('\n')}`)
    }
    const result = await runFuzzCampaign({
      httpUrl: running.httpUrl,
      url: running.url,
      seed: SEED,
      frames: FRAMES,
      check: alive,
      progressEvery: 250,
      onProgress: () => {
        void fetch(`${running.httpUrl}/healthz`).then((response) => assert.equal(response.status, 200, '/healthz'))
      },
    })
    alive()
    assert.equal(result.framesSent, FRAMES)
    assert.ok(result.honestEdits > 0, 'result.honestEdits > 0')
    const health = await fetch(`${running.httpUrl}/healthz`)
    assert.equal(health.status, 200)

    // Every document the campaign touched is sound: stored updates decode, the event log rebuilds the
    // state, every field keeps its schema, no client id holds a range nobody wrote.
    const admin = await running.token({ user: 'root', role: 'admin', tenant: 'fuzz' })
    for (const room of result.rooms) {
      const response = await fetch(`${running.httpUrl}/admin/docs/${room}/verify`, { headers: { authorization: `Bearer ${admin}` } })
      const report = (await response.json()) as { ok: boolean; problems: string[] }
      assert.deepEqual(report.problems, [], `${room} is not sound after the fuzz run (seed ${SEED})`)
      assert.equal(report.ok, true)
    }
  })
})
