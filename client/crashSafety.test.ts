import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as Y from 'yjs'
import { proposalModel } from '../shared/documentModel.ts'
import { eventually } from '../shared/testing/eventually.ts'
import { spawnServer, type ServerProcess } from '../shared/testing/serverProcess.ts'
import { tempDir } from '../shared/testing/tempDir.ts'
import { openDocument } from './node.ts'

const ROUNDS = 3
const BURST = 400
/** Kill once this many edits of the burst are acknowledged, while the rest is still being written. */
const KILL_AFTER_ACKED = 40

const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('saved is a fact: acknowledged edits survive a SIGKILL of the server', () => {
  test(`every acknowledged edit is on disk after kill -9 and restart (${ROUNDS} rounds)`, async (t) => {
    const data = await tempDir('posalpro-crash-')
    let server: ServerProcess | null = null
    try {
      server = await spawnServer({ dataDir: data.path })
      for (let round = 1; round <= ROUNDS; round++) {
        const running = server
        const handle = openDocument('proposal', 'crash', { url: running.url, maxBackoffMs: 100, getToken: () => running.token() })
        try {
          await handle.whenSynced()
          await handle.whenSaved()
          const clientId = handle.doc.clientID
          /** For each edit, the clock after its struct: acknowledged once the durable clock reaches it. */
          const clocks: number[] = []
          const acked = () => {
            const durable = handle.durableStateVector?.get(clientId) ?? 0
            return clocks.filter((clock) => clock <= durable).length
          }
          // Write the burst; once enough is acknowledged, SIGKILL the server and keep writing, so
          // the crash lands while edits are in flight.
          let kill: Promise<unknown> | null = null
          let writtenAtKill = 0
          for (let i = 0; i < BURST; i++) {
            handle.model.body.insert(handle.model.body.length, [paragraphOf(`r${round}-e${i}`)])
            clocks.push(Y.getState(handle.doc.store, clientId))
            if (i % 5 === 4) await yieldToIo()
            if (kill === null && acked() >= KILL_AFTER_ACKED) {
              kill = running.kill()
              writtenAtKill = clocks.length
            }
            if (kill !== null && clocks.length >= writtenAtKill + 25) break
          }
          if (kill === null) {
            // The whole burst went out before enough acks came back (edits are not held back for
            // acks): wait for them, then crash right after a few more edits, still on their way.
            await eventually(() => assert.ok(acked() >= KILL_AFTER_ACKED, `acked ${acked()}`), { timeoutMs: 15_000 })
            for (let i = clocks.length, end = clocks.length + 25; i < end; i++) {
              handle.model.body.insert(handle.model.body.length, [paragraphOf(`r${round}-e${i}`)])
              clocks.push(Y.getState(handle.doc.store, clientId))
            }
            kill = running.kill()
          }
          await kill
          // Acks the dead server sent before dying may still arrive: wait until the socket is gone.
          await eventually(() => assert.notEqual(handle.status, 'synced'))
          const ackedEdits = acked()
          assert.ok(ackedEdits >= KILL_AFTER_ACKED, 'ackedEdits >= KILL_AFTER_ACKED')
          // Destroy before the restart, so the client cannot resend what the server lost.
          await handle.destroy()

          server = await spawnServer({ dataDir: data.path })
          const stock = await server.connect('proposal/crash')
          try {
            await stock.whenSynced()
            const body = proposalModel(stock.doc).body.toString()
            const missing = []
            for (let i = 0; i < ackedEdits; i++) if (!body.includes(`>r${round}-e${i}<`)) missing.push(i)
            assert.deepEqual(missing, [], `round ${round}: acknowledged edits missing after the crash`)
            assert.ok(Y.getState(stock.doc.store, clientId) >= clocks[ackedEdits - 1]!, 'Y.getState(stock.doc.store, clientId) >= clocks[ackedEdits - 1]!')
            t.diagnostic(`round ${round}: ${clocks.length} written, ${ackedEdits} acknowledged`)
          } finally {
            stock.destroy()
          }
        } finally {
          await handle.destroy()
        }
      }
    } finally {
      await server?.kill()
      await data.remove()
    }
  })
})

const paragraphOf = (text: string): Y.XmlElement => {
  const element = new Y.XmlElement('paragraph')
  element.insert(0, [new Y.XmlText(text)])
  return element
}
