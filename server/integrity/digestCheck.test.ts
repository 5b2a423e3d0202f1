import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import { documentDigest } from '../../shared/documentDigest.ts'
import { ErrorCode } from '../../shared/errors.ts'
import { DigestResult, ExtensionSubtype, MESSAGE_EXTENSION, encodeDigestCheck, readExtensionMessage } from '../../shared/extensionProtocol.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { startServer } from '../testing/startServer.ts'

const digestResults = (received: readonly Uint8Array[]): DigestResult[] =>
  received.flatMap((frame) => {
    const decoder = decoding.createDecoder(frame)
    if (decoding.readVarUint(decoder) !== MESSAGE_EXTENSION) return []
    const message = readExtensionMessage(decoder)
    return message?.kind === 'digest-result' ? [message.result] : []
  })

test('digest checks: answered for an opted-in client, at most every 2 s, unsettled while state vectors differ; malformed ones close the peer', async () => {
  const server = await startServer()
  try {
    // The server's document: one client's title.
    const writer = await server.connect('proposal/checked')
    writer.doc.getText('title').insert(0, 'Checked')
    await eventually(async () => assert.equal((await server.server.store.loadUpdates(`${server.tenant}/proposal/checked`)).length > 0, true, 'stored'))
    const copy = new Y.Doc()
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(writer.doc))

    const peer = await server.raw('/proposal/checked?ext=1')
    peer.send(encodeDigestCheck(Y.encodeStateVector(copy), documentDigest(copy)))
    await eventually(() => assert.deepEqual(digestResults(peer.received), [DigestResult.Match], 'a faithful copy matches'))
    peer.send(encodeDigestCheck(Y.encodeStateVector(copy), documentDigest(copy)))
    await eventually(() => assert.deepEqual(digestResults(peer.received), [DigestResult.Match, DigestResult.Unsettled], 'asked again at once: unsettled'))

    // The document changes: a copy of the change matches (once the server may make a fresh digest).
    writer.doc.getText('title').insert(7, '!')
    const changed = new Y.Doc()
    await eventually(() => {
      Y.applyUpdate(changed, Y.encodeStateAsUpdate(writer.doc))
      assert.deepEqual(Y.encodeStateVector(changed), Y.encodeStateVector(writer.doc), 'a copy of the change')
    })
    await eventually(async () => {
      const later = await server.raw('/proposal/checked?ext=1')
      try {
        later.send(encodeDigestCheck(Y.encodeStateVector(changed), documentDigest(changed)))
        await eventually(() => assert.equal(digestResults(later.received).length, 1, 'answered'))
        assert.deepEqual(digestResults(later.received), [DigestResult.Match], 'the changed document matches')
      } finally {
        later.close()
      }
    })

    const behind = await server.raw('/proposal/checked?ext=1')
    const empty = new Y.Doc()
    behind.send(encodeDigestCheck(Y.encodeStateVector(empty), documentDigest(empty)))
    await eventually(() => assert.deepEqual(digestResults(behind.received), [DigestResult.Unsettled], 'another state vector: unsettled, not a mismatch'))
    const events = await server.server.store.readEvents(`${server.tenant}/proposal/checked`)
    assert.equal(events.filter((event) => event.outcome === 'integrity').length, 0, 'no integrity event for either')

    const stock = await server.raw('/proposal/checked')
    stock.send(encodeDigestCheck(Y.encodeStateVector(copy), documentDigest(copy)))
    assert.equal((await stock.closed).errorCode, ErrorCode.UnknownMessageType, 'a client that did not opt in cannot take the answer')

    const short = await server.raw('/proposal/checked?ext=1')
    short.send(encodeDigestCheck(Y.encodeStateVector(copy), new Uint8Array(5)))
    assert.equal((await short.closed).errorCode, ErrorCode.MalformedMessage, 'a digest of 5 bytes')

    const otherSubtype = await server.raw('/proposal/checked?ext=1')
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, MESSAGE_EXTENSION)
    encoding.writeVarUint(encoder, ExtensionSubtype.Ack)
    encoding.writeVarUint8Array(encoder, new Uint8Array([0]))
    encoding.writeVarUint(encoder, 1)
    otherSubtype.send(encoding.toUint8Array(encoder))
    assert.equal((await otherSubtype.closed).errorCode, ErrorCode.UnknownMessageType, 'an ack is what the server sends')
    writer.destroy()
  } finally {
    await server.dispose()
  }
})
