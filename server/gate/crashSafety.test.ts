import assert from 'node:assert/strict'
import { test } from 'node:test'
import type * as decoding from 'lib0/decoding'
import * as Y from 'yjs'
import { MESSAGE_EXTENSION, readExtensionMessage } from '../../shared/extensionProtocol.ts'
import { MAP_SCHEMAS } from '../../shared/schemas.ts'
import { spawnServer } from '../../shared/testing/serverProcess.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { documentAsOf, type EventRecord } from '../persistence/eventLog.ts'

const UNLIMITED = ['--rate-messages', '1000000', '--rate-message-burst', '1000000', '--rate-bytes', '1000000000', '--rate-byte-burst', '1000000000']

test('SIGKILL during a burst of valid and rule-breaking edits: the stored state satisfies the rules and the event log agrees', async () => {
  const dir = await tempDir()
  const cleanups: Array<() => Promise<unknown>> = []
  try {
    for (let round = 0; round < 3; round++) {
      const server = await spawnServer({ dataDir: dir.path, args: UNLIMITED })
      cleanups.push(() => server.kill())
      const editor = await server.connect('proposal/crash', { ext: true })
      let acks = 0
      editor.provider.messageHandlers[MESSAGE_EXTENSION] = (_encoder, decoder: decoding.Decoder) => {
        if (readExtensionMessage(decoder)?.kind === 'ack') acks++
      }
      await editor.whenSynced()
      const acksBefore = acks
      const meta = editor.doc.getMap('meta')
      const financial = editor.doc.getMap('financial')
      let i = 0
      await new Promise<void>((resolve) => {
        const burst = () => {
          for (let n = 0; n < 10; n++, i++) {
            meta.set('title', `title ${round}.${i}`) // valid
            if (i % 3 === 0) meta.set('status', 'won') // status-transition: rejected
            if (i % 5 === 0) financial.set('value', i) // financial-review: held
            if (i % 7 === 0) meta.set('currency', 'euros') // schema: rejected
          }
          // Kill while the burst is still going, once part of it is durable (a loaded machine may be slow).
          if (i >= 300 && acks > acksBefore) resolve()
          else setImmediate(burst)
        }
        burst()
      })
      await server.kill()
      editor.destroy()
    }

    const server = await spawnServer({ dataDir: dir.path })
    cleanups.push(() => server.kill())
    const reader = await server.connect('proposal/crash', { role: 'viewer', user: 'rita' })
    await reader.whenSynced()
    // Every field that is there passes the rules that are state invariants.
    const meta = reader.doc.getMap('meta').toJSON() as Record<string, unknown>
    assert.equal(meta.status, undefined, 'no status move was valid')
    assert.equal(meta.currency, undefined)
    assert.deepEqual(reader.doc.getMap('financial').toJSON(), {})
    for (const [key, value] of Object.entries(meta)) {
      const schema = MAP_SCHEMAS.proposal.meta.schema.shape[key as keyof typeof MAP_SCHEMAS.proposal.meta.schema.shape]
      assert.ok(schema?.safeParse(value).success, `meta.${key} = ${JSON.stringify(value)}`)
    }
    // The event log rebuilds exactly what the server serves.
    const admin = await server.token({ user: 'ada', role: 'admin' })
    const response = await fetch(`${server.httpUrl}/admin/docs/proposal/crash/events`, { headers: { authorization: `Bearer ${admin}` } })
    const { events } = (await response.json()) as { events: Array<Omit<EventRecord, 'update'> & { update: string }> }
    const records = events.map((event) => ({ ...event, update: new Uint8Array(Buffer.from(event.update, 'base64')) }))
    assert.deepEqual(records.map((event) => event.seq), records.map((_, index) => index + 1))
    const rebuilt = documentAsOf(null, records, records.at(-1)!.seq)
    assert.deepEqual(Y.encodeStateVector(rebuilt), Y.encodeStateVector(reader.doc))
    assert.deepEqual(rebuilt.getMap('meta').toJSON(), meta)
    reader.destroy()
    assert.equal(await server.stop(), 0)
  } finally {
    for (const cleanup of cleanups) await cleanup()
    await dir.remove()
  }
})
