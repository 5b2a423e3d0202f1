import { readTextField } from '../../shared/documentModel.ts'
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import * as Y from 'yjs'
import { CloseCode } from '../../shared/closeCodes.ts'
import { isCollabError } from '../../shared/errors.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { freePort } from '../../shared/testing/freePort.ts'
import { spawnServer } from '../../shared/testing/serverProcess.ts'
import type { VerificationReport } from '../admin/documentVerification.ts'
import type { ReviewItem } from '../reviews/reviewItem.ts'
import { clockOf, connectAckedClient } from '../testing/ackedClient.ts'
import { adminRequest } from '../testing/adminRequests.ts'
import { gateClientPool } from '../testing/gateClients.ts'
import { SERVER_STORES, type ServerStore } from '../testing/serverStores.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'

/**
 * The server's behaviours that depend on its store, written once and run on every store: sync and
 * convergence, acknowledgement only once durable, a crash losing nothing acknowledged, the gate's
 * compensation and its event log, reviews and their notifications, `docs verify`.
 */

// Every assert.ok polled by eventually carries a message: without one, Node builds it by parsing
// the (tsx-compiled, one-line) source on each failure, which takes seconds each time.
/** A stock provider that opted in to acks, as an admin (no rule holds its test writes back). */
const ackedClient = (server: Parameters<typeof connectAckedClient>[0], room: string) => connectAckedClient(server, room, { role: 'admin' })

const storedDoc = async (server: TestServer, room: string): Promise<Y.Doc> => {
  const doc = new Y.Doc()
  for (const update of await server.server.store.loadUpdates(`${server.tenant}/${room}`)) Y.applyUpdate(doc, update)
  return doc
}

// The burst is far faster than any person types: this is about durability, not rate limits.
const UNLIMITED = [
  ...['--rate-messages', '1000000', '--rate-message-burst', '1000000', '--rate-bytes', '1000000000', '--rate-byte-burst', '1000000000'],
  ...['--max-buffered', String(2 ** 30), '--max-document-bytes', String(2 ** 29)],
]

/** Keys one burst writes at most (a few hundred kB of updates): the kill comes while they are stored. */
const BURST_KEYS = 20_000

for (const backend of SERVER_STORES) {
  describe(`the server on ${backend.name}`, () => {
    let store: ServerStore
    let server: TestServer
    const clients = gateClientPool()
    before(async () => {
      store = await backend.open()
      server = await startServer(store.config)
    })
    after(async () => {
      clients.destroyAll()
      await server.stop()
      await store.dispose()
    })

    test('stock clients converge; an ack comes only once the store holds the update; a restart keeps it', async () => {
      const writer = await ackedClient(server, 'proposal/s-sync')
      const reader = await server.connect('proposal/s-sync')
      await reader.whenSynced()
      for (let i = 0; i < 20; i++) writer.doc.getMap('team').set(`k${i}`, 'editor')
      reader.doc.getMap('meta').set('title', 'From the reader')
      await eventually(() => {
        assert.deepEqual(reader.doc.getMap('team').toJSON(), writer.doc.getMap('team').toJSON())
        assert.equal(reader.doc.getMap('team').size, 20)
        assert.equal(writer.doc.getMap('meta').get('title'), 'From the reader')
      })
      // Whatever an ack names is stored: nothing else writes, so reading once it arrived shows the store as the ack found it.
      const before = clockOf(Y.encodeStateVector(writer.doc), writer.doc.clientID)
      writer.doc.getMap('team').set('after', 'editor')
      const acked = await eventually(() => {
        const clock = clockOf(writer.acks.at(-1), writer.doc.clientID)
        assert.ok(clock > before, `acked ${clock}, wrote up to ${before + 1}`)
        return clock
      })
      assert.ok(clockOf(Y.encodeStateVector(await storedDoc(server, 'proposal/s-sync')), writer.doc.clientID) >= acked, 'clockOf(Y.encodeStateVector(await storedDoc(server, \'proposal/s-sync\')), writ...')
      writer.destroy()
      reader.destroy()
      server = await server.restart()
      const fresh = await server.connect('proposal/s-sync')
      await fresh.whenSynced()
      assert.equal(fresh.doc.getMap('team').get('after'), 'editor')
      // The restarted server moved the legacy title into its text root on load.
      assert.equal(readTextField(fresh.doc, 'proposal', 'title'), 'From the reader')
      fresh.destroy()
    })

    test("the gate's refusal: the compensation is what is stored, the event log records it, docs verify finds the document sound", async () => {
      const editor = await clients.open(server, 'proposal/s-gate')
      editor.map('meta').set('title', 'Valid title')
      editor.map('meta').set('title', 'x'.repeat(201))
      await eventually(() => {
        assert.ok(editor.notices.some((notice) => notice.ruleId === 'schema' && notice.outcome === 'rejected'), JSON.stringify(editor.notices))
        assert.equal(editor.map('meta').get('title'), 'Valid title')
      })
      await eventually(async () => assert.equal((await storedDoc(server, 'proposal/s-gate')).getMap('meta').get('title'), 'Valid title'))
      const events = await server.server.store.readEvents(`${server.tenant}/proposal/s-gate`)
      assert.ok(events.some((event) => event.outcome === 'rejected' && event.ruleIds.includes('schema')), JSON.stringify(events.map((e) => e.outcome)))
      assert.ok(events.some((event) => event.outcome === 'compensation'), 'events.some((event) => event.outcome === \'compensation\')')
      const admin = await server.token({ user: 'ada', role: 'admin' })
      const verified = await adminRequest<VerificationReport>(server, admin, 'GET', '/docs/proposal/s-gate/verify')
      assert.equal(verified.status, 200)
      assert.deepEqual(verified.body.problems, [])
      assert.equal(verified.body.ok, true)
      assert.equal(verified.body.events, events.length)
    })

    test('a held change: pending across a restart, approved by an admin, stored, and the proposer notified', async () => {
      const editor = await clients.open(server, 'proposal/s-review')
      editor.map('financial').set('value', 12_000)
      const id = await eventually(() => {
        const held = editor.notices.find((notice) => notice.outcome === 'review')
        assert.ok(held?.reviewId, JSON.stringify(editor.notices))
        return held.reviewId
      })
      editor.destroy()
      server = await server.restart()
      const admin = await server.token({ user: 'ada', role: 'admin' })
      const pending = await adminRequest<{ reviews: ReviewItem[] }>(server, admin, 'GET', '/reviews')
      assert.ok(pending.body.reviews.some((item) => item.id === id && item.status === 'pending'), 'pending.body.reviews.some((item) => item.id === id && item.status === \'pending\')')
      const approved = await adminRequest<ReviewItem>(server, admin, 'POST', `/reviews/${id}/approve`)
      assert.equal(approved.body.status, 'approved')
      await eventually(async () => assert.equal((await storedDoc(server, 'proposal/s-review')).getMap('financial').get('value'), 12_000))
      const response = await fetch(`${server.httpUrl}/api/notifications`, { headers: { authorization: `Bearer ${await server.token()}` } })
      const listed = (await response.json()) as { notifications: Array<{ kind: string; detail: { reviewId: string } }>; unread: number }
      assert.ok(listed.notifications.some((notification) => notification.kind === 'review-decided' && notification.detail.reviewId === id), 'listed.notifications.some((notification) => notification.kind === \'review-dec...')
    })

    test('SIGKILL during a burst: every acknowledged update is there after the restart (2 rounds)', async () => {
      let expectedKeys = 0
      const dataDir = `${store.config.dataDir}/spawned`
      for (let round = 0; round < 2; round++) {
        const child = await spawnServer({ dataDir, args: [...UNLIMITED, ...store.args] })
        const writer = await ackedClient(child, 'proposal/s-burst').catch(async (error: unknown) => {
          await child.kill()
          throw error
        })
        try {
        const team = writer.doc.getMap('team')
        for (let i = 0; i < expectedKeys; i++) assert.ok(team.has(`k${i}`), `round ${round}: k${i} lost`)
        const firstKey = team.size
        let written = 0
        const deadline = Date.now() + 60_000
        await new Promise<void>((resolve, reject) => {
          const writeSome = () => {
            // Bounded: a burst without end outgrows what a reconnecting client may resend in one
            // message (maxPayload) when a loaded machine slows the store and a room restarts.
            if (written < BURST_KEYS) for (let i = 0; i < 20; i++) team.set(`k${firstKey + written++}`, 'editor')
            if (writer.acks.length >= 3 && clockOf(writer.acks.at(-1), writer.doc.clientID) > 0) resolve()
            else if (Date.now() > deadline) reject(new Error(`round ${round}: no acks during the burst (${writer.acks.length} acks, connected: ${writer.provider.wsconnected}, closes: ${writer.closes.join(",")}): ${child.logs.slice(-8).map((line) => line.slice(0, 300)).join('\n')}`))
            else if (written < BURST_KEYS) setImmediate(writeSome)
            else setTimeout(writeSome, 20)
          }
          writeSome()
        })
        await child.kill()
        const ackedClock = Math.max(...writer.acks.map((sv) => clockOf(sv, writer.doc.clientID)))
        expectedKeys = firstKey + ackedClock
        } finally {
          // Also when the round failed: a client left behind reconnects for ever, a child server lives on.
          writer.destroy()
          await child.kill()
        }
      }
      const child = await spawnServer({ dataDir, args: [...store.args] })
      const reader = await child.connect('proposal/s-burst')
      await reader.whenSynced()
      for (let i = 0; i < expectedKeys; i++) assert.ok(reader.doc.getMap('team').has(`k${i}`), `k${i} lost`)
      reader.destroy()
      assert.equal(await child.stop(), 0)
    })
  })
}

describe('the server on PostgreSQL only', () => {
  test('PostgreSQL gone: nothing more is acknowledged, peers are closed with 4500 (they retry), /readyz says not ready', async () => {
    const store = await SERVER_STORES.find((each) => each.name === 'PostgreSQL')!.open()
    const server = await startServer(store.config)
    const opened: Array<{ destroy(): void }> = []
    try {
      assert.equal((await fetch(`${server.httpUrl}/readyz`)).status, 200)
      const writer = await ackedClient(server, 'proposal/s-down')
      opened.push(writer)
      writer.doc.getMap('meta').set('title', 'durable')
      await eventually(() => assert.ok(clockOf(writer.acks.at(-1), writer.doc.clientID) >= 1, 'the first write is acked'))
      const acked = writer.acks.length
      await store.postgres!.kill()
      writer.doc.getMap('meta').set('title', 'never stored')
      await eventually(() => assert.ok(writer.closes.includes(CloseCode.PersistenceFailed), `closes: ${writer.closes.join(',')}`))
      assert.equal(writer.acks.slice(acked).some((sv) => clockOf(sv, writer.doc.clientID) >= 2), false)
      await eventually(async () => assert.equal((await fetch(`${server.httpUrl}/readyz`)).status, 503))
    } finally {
      // Destroyed even when an assertion failed: a stock client left behind reconnects for ever
      // and keeps the test process from ending.
      for (const client of opened) client.destroy()
      await server.stop()
      await store.dispose()
    }
  })

  test('a server cannot start on a PostgreSQL it cannot reach: ERR_PERSISTENCE_FAILED', async () => {
    const port = await freePort()
    await assert.rejects(startServer({ postgresUrl: `postgres://postgres@127.0.0.1:${port}/none` }), (error: unknown) => isCollabError(error) && error.code === 'ERR_PERSISTENCE_FAILED')
  })

  test('two servers on one database by mistake fence each other: the one that loaded a document last writes it, the other closes its peers (4500), and everything converges', async () => {
    const store = await SERVER_STORES.find((each) => each.name === 'PostgreSQL')!.open()
    const first = await startServer(store.config)
    const second = await startServer({ ...store.config, dataDir: `${store.config.dataDir}/second` })
    const opened: Array<{ destroy(): void }> = []
    try {
      const onFirst = await ackedClient(first, 'proposal/s-two')
      opened.push(onFirst)
      onFirst.doc.getMap('meta').set('title', 'first')
      await eventually(() => assert.ok(clockOf(onFirst.acks.at(-1), onFirst.doc.clientID) >= 1, 'the first write is acked'))
      const onSecond = await ackedClient(second, 'proposal/s-two') // the second server claims the document
      opened.push(onSecond)
      assert.equal(readTextField(onSecond.doc, 'proposal', 'title'), 'first') // in either form: a server moves it into its text root
      const refused = onFirst.acks.length
      onFirst.doc.getMap('team').set('from-first', 'editor')
      await eventually(() => assert.ok(onFirst.closes.includes(CloseCode.PersistenceFailed), `closes: ${onFirst.closes.join(',')}`))
      assert.equal(onFirst.acks.length, refused, 'the fenced write was not acknowledged')
      onSecond.doc.getMap('team').set('from-second', 'editor')
      // The first one's client reconnects, its server loads the document again (claiming it back),
      // and its write is stored; the second one's peers reconnect in turn. Nothing is lost.
      await eventually(async () => {
        const stored = new Y.Doc()
        for (const update of await first.server.store.loadUpdates('acme/proposal/s-two')) Y.applyUpdate(stored, update)
        assert.deepEqual(stored.getMap('team').toJSON(), { 'from-first': 'editor', 'from-second': 'editor' })
      })
    } finally {
      for (const client of opened) client.destroy()
      await first.stop()
      await second.stop()
      await store.dispose()
    }
  })
})
