import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { SignJWT, exportSPKI, generateKeyPair } from 'jose'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { CloseCode } from '../../shared/closeCodes.ts'
import { ErrorCode } from '../../shared/errors.ts'
import { MESSAGE_EXTENSION } from '../../shared/extensionProtocol.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { connectRawPeer } from '../../shared/testing/rawPeer.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { MessageType } from '../protocol/protocol.ts'
import { syncUpdateFrame } from '../testing/attackFrames.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import { readTextField } from '../../shared/documentModel.ts'

const SECRET = 'an HS256 secret that is long enough for the test!'
const nowSeconds = () => Math.floor(Date.now() / 1000)
const claims = { sub: 'u-1', name: 'Una', tenant: 'acme', role: 'editor' }

const hs256 = (payload: Record<string, unknown>, secret: string | Uint8Array = SECRET) =>
  new SignJWT(payload).setProtectedHeader({ alg: 'HS256' }).sign(typeof secret === 'string' ? new TextEncoder().encode(secret) : secret)

/** The refusal of an upgrade: HTTP status and the JSON error code. */
const refusal = async (server: TestServer, pathAndQuery: string, options: WebSocket.ClientOptions = {}) => {
  const error = await connectRawPeer(`${server.url}${pathAndQuery}`, options).then(
    (peer) => {
      peer.close()
      return assert.fail('the upgrade should have been refused')
    },
    (failure: { status: number; body: string }) => failure,
  )
  return { status: error.status, code: (JSON.parse(error.body) as { error: { code: string } }).error.code }
}

describe('tokens at the upgrade (HS256 secret, issuer and audience configured)', () => {
  let server: TestServer
  before(async () => {
    server = await startServer({ devMode: false, jwtSecret: SECRET, jwtIssuer: 'https://id.posalpro.example', jwtAudience: 'collab' })
  })
  after(() => server.dispose())
  const good = { ...claims, iss: 'https://id.posalpro.example', aud: 'collab' }

  test('a valid token connects', async () => {
    const token = await hs256({ ...good, exp: nowSeconds() + 60 })
    const peer = await connectRawPeer(`${server.url}/proposal/p-1?token=${token}`)
    peer.close()
  })

  const refused: Array<[string, () => Promise<string | null>, number, string]> = [
    ['no token', async () => null, 401, ErrorCode.TokenMissing],
    ['a bad signature', async () => hs256({ ...good, exp: nowSeconds() + 60 }, 'another secret that is long enough, too!!'), 401, ErrorCode.TokenInvalid],
    [
      'alg: none',
      async () => {
        const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
        return `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ ...good, exp: nowSeconds() + 60 })}.`
      },
      401,
      ErrorCode.TokenInvalid,
    ],
    ['expired by 1 s beyond the tolerance', async () => hs256({ ...good, exp: nowSeconds() - 6 }), 401, ErrorCode.TokenExpired],
    ['missing exp', async () => hs256(good), 401, ErrorCode.TokenClaims],
    ['exp in milliseconds', async () => hs256({ ...good, exp: Date.now() + 60_000 }), 401, ErrorCode.TokenClaims],
    ['a wrong audience', async () => hs256({ ...good, aud: 'billing', exp: nowSeconds() + 60 }), 401, ErrorCode.TokenClaims],
    ['a wrong issuer', async () => hs256({ ...good, iss: 'https://evil.example', exp: nowSeconds() + 60 }), 401, ErrorCode.TokenClaims],
    ['an unknown role', async () => hs256({ ...good, role: 'superuser', exp: nowSeconds() + 60 }), 401, ErrorCode.TokenClaims],
    ['garbage', async () => 'not.a.jwt', 401, ErrorCode.TokenInvalid],
  ]
  for (const [name, makeToken, status, code] of refused) {
    test(`${name} → HTTP ${status} ${code}`, async () => {
      const token = await makeToken()
      assert.deepEqual(await refusal(server, `/proposal/p-1${token === null ? '' : `?token=${token}`}`), { status, code })
    })
  }

  test('the token may come in Sec-WebSocket-Protocol; the server never echoes it back', async () => {
    const token = await hs256({ ...good, exp: nowSeconds() + 60 })
    const socket = new WebSocket(`${server.url}/proposal/p-1`, ['posalpro-collab', `bearer.${token}`])
    await new Promise((resolve, reject) => {
      socket.once('open', resolve)
      socket.once('error', reject)
    })
    assert.equal(socket.protocol, 'posalpro-collab')
    socket.close()
  })

  test('/dev/token does not exist outside dev mode', async () => {
    const response = await fetch(`${server.httpUrl}/dev/token?user=a&role=admin&tenant=acme`)
    assert.equal(response.status, 404)
  })

  test('a token that expires during the connection closes it with 4401 ERR_TOKEN_EXPIRED', async () => {
    // jose's exp is in whole seconds: 2 s from now, minus the 5 s clock tolerance at the upgrade.
    const token = await hs256({ ...good, exp: nowSeconds() + 2 })
    const peer = await connectRawPeer(`${server.url}/proposal/p-1?token=${token}`)
    const closed = await peer.closed
    assert.equal(closed.code, CloseCode.Unauthorized)
    assert.equal(closed.errorCode, ErrorCode.TokenExpired)
  })
})

describe('RS256 configured: algorithm confusion', () => {
  test('an HS256 token signed with the RSA public key as secret is refused', async () => {
    const dir = await tempDir()
    const { publicKey, privateKey } = await generateKeyPair('RS256')
    const pem = await exportSPKI(publicKey)
    const keyFile = path.join(dir.path, 'public.pem')
    await writeFile(keyFile, pem)
    const server = await startServer({ devMode: false, jwtPublicKeyFile: keyFile, jwtAlgorithm: 'RS256' })
    try {
      const valid = await new SignJWT({ ...claims, exp: nowSeconds() + 60 }).setProtectedHeader({ alg: 'RS256' }).sign(privateKey)
      ;(await connectRawPeer(`${server.url}/proposal/p-1?token=${valid}`)).close()
      const forged = await hs256({ ...claims, exp: nowSeconds() + 60 }, new TextEncoder().encode(pem))
      assert.deepEqual(await refusal(server, `/proposal/p-1?token=${forged}`), { status: 401, code: ErrorCode.TokenInvalid })
    } finally {
      await server.dispose()
      await dir.remove()
    }
  })
})

describe('roles and tenants (dev mode)', () => {
  let server: TestServer
  before(async () => {
    server = await startServer()
  })
  after(() => server.dispose())

  test('a viewer\'s write is not applied, persisted or broadcast; the viewer is told and stays connected', async () => {
    const editor = await server.connect('proposal/p-view')
    await editor.whenSynced()
    editor.doc.getMap('meta').set('title', 'Editor title')
    const viewer = await server.raw('/proposal/p-view?ext=1', { user: 'victor', role: 'viewer' })
    const stockViewer = await server.connect('proposal/p-view', { user: 'vera', role: 'viewer' })
    await stockViewer.whenSynced()
    await eventually(() => assert.equal(stockViewer.doc.getMap('meta').get('title'), 'Editor title'))

    const attempt = new Y.Doc()
    attempt.getMap('meta').set('title', 'Viewer title')
    viewer.send(syncUpdateFrame(Y.encodeStateAsUpdate(attempt)))
    stockViewer.doc.getMap('meta').set('status', 'won')
    // Told: a y-protocols permission-denied message, and a read-only notice for the opted-in client.
    await eventually(() => {
      assert.equal(viewer.messagesOfType(MessageType.Auth).length, 1)
      assert.ok(viewer.messagesOfType(MESSAGE_EXTENSION).some((frame) => new TextDecoder().decode(frame).includes('"ruleId":"read-only"')), 'viewer.messagesOfType(MESSAGE_EXTENSION).some((frame) => new TextDecoder().de...')
    })
    // Not applied, not broadcast: the editor and the server never see it; the viewer stays connected.
    const room = server.server.rooms.find(server.tenant, 'proposal/p-view')!
    await eventually(() => assert.ok(room.peers.size === 3, 'room.peers.size === 3'))
    editor.doc.getMap('meta').set('currency', 'EUR') // a later edit that does arrive
    await eventually(() => assert.equal(stockViewer.doc.getMap('meta').get('currency'), 'EUR'))
    assert.equal(room.doc.getMap('meta').get('title'), 'Editor title')
    assert.equal(room.doc.getMap('meta').get('status'), undefined)
    assert.equal(editor.doc.getMap('meta').get('status'), undefined)
    assert.equal(viewer.socket.readyState, WebSocket.OPEN)
    // Not persisted.
    const stored = await server.server.store.loadUpdates(`${server.tenant}/proposal/p-view`)
    const onDisk = new Y.Doc()
    for (const update of stored) Y.applyUpdate(onDisk, update)
    assert.deepEqual(onDisk.getMap('meta').toJSON(), { title: 'Editor title', currency: 'EUR' })
    viewer.close()
    stockViewer.destroy()
    editor.destroy()
  })

  test('a viewer that never edits is not told off when it reconnects to a document with deletions', async () => {
    const editor = await server.connect('proposal/p-viewer-reconnect')
    await editor.whenSynced()
    editor.doc.getMap('meta').set('title', 'first')
    editor.doc.getMap('meta').set('title', 'second') // the first value is deleted: a delete set exists
    const viewer = await server.raw('/proposal/p-viewer-reconnect?ext=1', { user: 'vic', role: 'viewer' })
    await eventually(() => assert.ok(viewer.messagesOfType(MessageType.Sync).length >= 1, 'viewer.messagesOfType(MessageType.Sync).length >= 1'))
    // Replay what a stock viewer answers on reconnect: its full state (with the delete set) as sync step 2.
    const replica = new Y.Doc()
    Y.applyUpdate(replica, Y.encodeStateAsUpdate(server.server.rooms.find(server.tenant, 'proposal/p-viewer-reconnect')!.doc))
    viewer.send(syncUpdateFrame(Y.encodeStateAsUpdate(replica), 1))
    const count = () => viewer.messagesOfType(MESSAGE_EXTENSION).length
    await eventually(() => assert.ok(count() >= 1, 'count() >= 1')) // its ack
    assert.equal(viewer.messagesOfType(MessageType.Auth).length, 0)
    assert.equal(viewer.messagesOfType(MESSAGE_EXTENSION).some((frame) => new TextDecoder().decode(frame).includes('read-only')), false)
    viewer.close()
    editor.destroy()
  })

  test('a viewer\'s awareness is size-limited (1009 ERR_AWARENESS_TOO_LARGE)', async () => {
    const viewer = await server.connect('proposal/p-aware', { role: 'viewer' })
    await viewer.whenSynced()
    viewer.provider.awareness.setLocalStateField('user', { name: 'V', cursor: 1 })
    const closes: number[] = []
    viewer.provider.on('connection-close', (event: CloseEvent | null) => event && closes.push(event.code))
    viewer.provider.awareness.setLocalStateField('blob', 'x'.repeat(10_000))
    await eventually(() => assert.ok(closes.includes(CloseCode.MessageTooBig), 'closes.includes(CloseCode.MessageTooBig)'))
    viewer.destroy()
  })

  test('the same document name in two tenants is two documents', async () => {
    const acme = await server.connect('proposal/p-shared', { tenant: 'acme' })
    await acme.whenSynced()
    acme.doc.getMap('meta').set('title', 'ACME secret')
    await eventually(() => assert.equal(server.server.rooms.find('acme', 'proposal/p-shared')?.doc.getMap('meta').get('title'), 'ACME secret'))
    const globex = await server.connect('proposal/p-shared', { tenant: 'globex', user: 'gus', role: 'admin' })
    await globex.whenSynced()
    assert.equal(globex.doc.getMap('meta').get('title'), undefined)
    globex.doc.getMap('meta').set('title', 'Globex title')
    await eventually(() => assert.equal(server.server.rooms.find('globex', 'proposal/p-shared')?.doc.getMap('meta').get('title'), 'Globex title'))
    assert.equal(acme.doc.getMap('meta').get('title'), 'ACME secret')
    acme.destroy()
    globex.destroy()
    // After a restart each tenant's document is still its own.
    server = await server.restart()
    const again = await server.connect('proposal/p-shared', { tenant: 'globex' })
    await again.whenSynced()
    // Read in either form: the restarted server moves the legacy title into its text root.
    await eventually(() => assert.equal(readTextField(again.doc, 'proposal', 'title'), 'Globex title'))
    again.destroy()
  })

  test('upgrades waiting for verification are capped (503 ERR_TOO_MANY_PENDING_CONNECTIONS)', async () => {
    const capped = await startServer({ maxPendingUpgrades: 0 })
    try {
      assert.deepEqual(await refusal(capped, '/proposal/p-1?token=x'), { status: 503, code: ErrorCode.TooManyPendingConnections })
    } finally {
      await capped.dispose()
    }
  })
})
