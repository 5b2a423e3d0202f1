import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import * as Y from 'yjs'
import { ErrorCode } from '../../shared/errors.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { loadConfig } from '../config.ts'
import { connectGateClient, type GateClient } from '../testing/gateClients.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import type { StockClient } from '../../shared/testing/stockClient.ts'
import { readTextField } from '../../shared/documentModel.ts'

const MiB = 1024 * 1024

/** One paragraph of `size` characters appended to the proposal's body: one update of ~`size` bytes. */
const appendParagraph = (doc: Y.Doc, fill: string, size: number): void => {
  const text = new Y.XmlText()
  text.insert(0, fill.repeat(size))
  const paragraph = new Y.XmlElement('paragraph')
  paragraph.insert(0, [text])
  const body = doc.getXmlFragment('body')
  body.insert(body.length, [paragraph])
}

const bodyText = (doc: Y.Doc): string => doc.getXmlFragment('body').toString()

describe('maximum document size', () => {
  const cleanups: Array<() => unknown> = []
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
  })

  test('three 6 MiB updates (each under maxPayload): the one that would pass maxDocumentBytes is compensated with a notice, earlier content stays, and a fresh client opens the document, also after a restart', async () => {
    let server: TestServer = await startServer()
    cleanups.push(() => server.dispose())
    const room = 'proposal/size-1'
    const writer: GateClient = await connectGateClient(server, room)
    cleanups.push(() => writer.destroy())
    const observer: GateClient = await connectGateClient(server, room, { user: 'olga', role: 'manager' })
    cleanups.push(() => observer.destroy())

    appendParagraph(writer.doc, 'a', 6 * MiB)
    writer.map('meta').set('title', 'kept')
    await eventually(() => assert.equal(observer.map('meta').get('title'), 'kept'))
    assert.equal(bodyText(observer.doc).length, bodyText(writer.doc).length)
    const firstBody = bodyText(writer.doc)

    appendParagraph(writer.doc, 'b', 6 * MiB)
    await eventually(() => {
      const notice = writer.notices.find((each) => each.ruleId === 'document-size')
      assert.ok(notice, `no document-size notice; got ${JSON.stringify(writer.notices)}`)
      assert.equal(notice.outcome, 'rejected')
      assert.match(notice.message, /maximum/)
    })
    // The sender's replica converges on the compensated document; the connection stays.
    await eventually(() => assert.equal(bodyText(writer.doc), firstBody))
    assert.equal(writer.provider.wsconnected, true)
    appendParagraph(writer.doc, 'c', 6 * MiB)
    await eventually(() => assert.equal(writer.notices.filter((each) => each.ruleId === 'document-size').length, 2))
    await eventually(() => assert.equal(bodyText(writer.doc), firstBody))
    // Nothing else is lost: an ordinary edit after the refusals goes through.
    writer.map('meta').set('title', 'still editing')
    await eventually(() => assert.equal(observer.map('meta').get('title'), 'still editing'))
    assert.equal(bodyText(observer.doc), firstBody)

    const openFresh = async (target: TestServer): Promise<StockClient> => {
      const fresh = await target.connect(room)
      cleanups.push(() => fresh.destroy())
      const closes: number[] = []
      fresh.provider.on('connection-close', (event: { code: number } | null) => closes.push(event?.code ?? 0))
      await eventually(() => {
        assert.deepEqual(closes, [], 'the fresh client was cut off')
        assert.ok(fresh.provider.synced, 'not synced yet')
      })
      assert.equal(bodyText(fresh.doc), firstBody)
      // Either form: a restarted server moves the legacy title into its text root.
      assert.equal(readTextField(fresh.doc, 'proposal', 'title'), 'still editing')
      return fresh
    }
    ;(await openFresh(server)).destroy()
    writer.destroy()
    observer.destroy()
    server = await server.restart()
    cleanups.push(() => server.dispose())
    await openFresh(server)
  })

  test('the maximum must fit a fresh joiner sync step 2 under maxBufferedBytes (checked at config load)', () => {
    assert.throws(
      () => loadConfig(['--dev', '--max-document-bytes', String(16 * MiB), '--max-buffered', String(16 * MiB)], {}),
      (error: { code: string; message: string }) => error.code === ErrorCode.BadConfig && /max-document-bytes/.test(error.message),
    )
    assert.equal(loadConfig(['--dev'], {}).maxDocumentBytes, 8 * MiB)
  })
})
