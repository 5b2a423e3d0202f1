import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, test } from 'node:test'
import type * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import { CloseCode, parseCloseReason } from '../../shared/closeCodes.ts'
import { MESSAGE_EXTENSION, readExtensionMessage, type Notice } from '../../shared/extensionProtocol.ts'
import type { TestUser } from '../../shared/testing/devTokens.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { spawnServer, type ServerProcess } from '../../shared/testing/serverProcess.ts'
import type { StockClient } from '../../shared/testing/stockClient.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { DocumentStore } from '../persistence/documentStore.ts'
import type { EventRecord } from '../persistence/eventLog.ts'
import { appendElementChain, elementDepth } from '../testing/deepContent.ts'
import { syncUpdateFrame } from '../testing/attackFrames.ts'
import { connectRawPeer } from '../../shared/testing/rawPeer.ts'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

/** The default nesting limit (documented in README): a root's children are at depth 1. */
const LIMIT = 64
/** The hostile edit from the field: ~2,100 elements, each inside the one before (~43 KB). */
const HOSTILE_DEPTH = 2_100
/** What a document stored before the limit existed may hold: deeper than any stack-bound walk survives. */
const STORED_DEPTH = 5_000

const UNLIMITED = ['--rate-messages', '1000000', '--rate-message-burst', '1000000', '--rate-bytes', '1000000000', '--rate-byte-burst', '1000000000']

interface Client extends StockClient {
  readonly notices: Notice[]
  /** Close events the server sent this client: code and the ERR_* code of the reason. */
  readonly closes: Array<{ code: number; errorCode: string | null }>
}

/** A stock provider that opted in to notices, recording them and the close codes it gets. */
const openClient = async (server: ServerProcess, room: string, user: TestUser = {}): Promise<Client> => {
  const client = await server.connect(room, { ...user, ext: true })
  const notices: Notice[] = []
  const closes: Client['closes'] = []
  client.provider.messageHandlers[MESSAGE_EXTENSION] = (_encoder, decoder: decoding.Decoder) => {
    const message = readExtensionMessage(decoder)
    if (message?.kind === 'notice') notices.push(message.notice)
  }
  client.provider.on('connection-close', (event: CloseEvent | null) => {
    if (event) closes.push({ code: event.code, errorCode: parseCloseReason(event.reason).code })
  })
  await client.whenSynced()
  return { ...client, notices, closes }
}

/** Puts a paragraph with a text into the innermost element of a chain: two levels deeper than it. */
const insertBelowInnermost = (chain: Y.XmlElement): void => {
  let innermost = chain
  while (innermost.get(0) instanceof Y.XmlElement) innermost = innermost.get(0) as Y.XmlElement
  const paragraph = new Y.XmlElement('p')
  paragraph.insert(0, [new Y.XmlText('too deep')])
  innermost.insert(0, [paragraph])
}

/** Runs the admin CLI as a subprocess on a stopped server's data directory. */
const cli = (args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', path.join(ROOT, 'server/cli/main.ts'), ...args], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    )
  })

/** A tenant's peer in another document: it must keep working whatever happens elsewhere. */
const expectOtherTenantWorks = async (server: ServerProcess, title: string): Promise<void> => {
  const writer = await openClient(server, 'proposal/p-elsewhere', { user: 'gus', tenant: 'globex' })
  const reader = await openClient(server, 'proposal/p-elsewhere', { user: 'gia', tenant: 'globex' })
  try {
    writer.doc.getMap('meta').set('title', title)
    await eventually(() => assert.equal(reader.doc.getMap('meta').get('title'), title))
  } finally {
    writer.destroy()
    reader.destroy()
  }
}

describe('deeply nested rich text', () => {
  const cleanups: Array<() => Promise<unknown> | void> = []
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
  })

  describe('sent by a client', () => {
    let server: ServerProcess
    before(async () => {
      const dir = await tempDir()
      cleanups.push(() => dir.remove())
      server = await spawnServer({ dataDir: dir.path, args: UNLIMITED })
      cleanups.push(() => server.stop())
    })

    /** A legal content document with one approved paragraph, as its lawyer wrote it. */
    const legalDocument = async (room: string): Promise<Client> => {
      const lawyer = await openClient(server, room, { user: 'lea', legal: true })
      cleanups.push(() => lawyer.destroy())
      lawyer.doc.getXmlFragment('body').insert(0, [new Y.XmlText('Approved clause.')])
      lawyer.doc.getMap('meta').set('legal', true)
      return lawyer
    }

    test(`a ${HOSTILE_DEPTH}-deep element chain in a legal document's body is refused (4422 ERR_NESTING_TOO_DEEP); the process and other tenants go on`, async () => {
      const room = 'content/c-hostile'
      const lawyer = await legalDocument(room)
      const editor = await openClient(server, room)
      cleanups.push(() => editor.destroy())
      await eventually(() => assert.equal(editor.doc.getMap('meta').get('legal'), true))

      appendElementChain(editor.doc, 'body', HOSTILE_DEPTH)
      await eventually(() => assert.deepEqual(editor.closes[0], { code: CloseCode.InvalidUpdate, errorCode: 'ERR_NESTING_TOO_DEEP' }))
      assert.equal(server.child.exitCode, null, 'the server process is alive')
      // 4422 is permanent for a stock client: it does not come back to resend the same edit.
      assert.equal(editor.provider.shouldConnect, false)
      await expectOtherTenantWorks(server, 'Still here')
      // Nothing of it was stored or relayed: a fresh reader sees the lawyer's text only.
      const reader = await openClient(server, room, { user: 'rita', role: 'viewer' })
      cleanups.push(() => reader.destroy())
      assert.equal(reader.doc.getXmlFragment('body').toString(), 'Approved clause.')
      assert.equal(elementDepth(lawyer.doc.getXmlFragment('body')), 0)
    })

    test(`nesting up to the limit (${LIMIT}) is accepted: held for review from a non-legal editor, kept from the lawyer`, async () => {
      const room = 'content/c-within'
      const lawyer = await legalDocument(room)
      const editor = await openClient(server, room)
      cleanups.push(() => editor.destroy())
      await eventually(() => assert.equal(editor.doc.getMap('meta').get('legal'), true))

      // LIMIT - 1 elements and the text inside the innermost: LIMIT levels.
      appendElementChain(editor.doc, 'body', LIMIT - 1)
      await eventually(() => {
        assert.ok(editor.notices.some((notice) => notice.ruleId === 'legal-review' && notice.outcome === 'review'), 'a legal-review notice')
        assert.equal(elementDepth(editor.doc.getXmlFragment('body')), 0, 'compensated')
      })
      assert.deepEqual(editor.closes, [])

      appendElementChain(lawyer.doc, 'body', LIMIT - 1, 'lawful')
      await eventually(() => assert.equal(elementDepth(editor.doc.getXmlFragment('body')), LIMIT - 1))
      // One level more, below what is there (an element at LIMIT holding a text at LIMIT + 1): refused.
      insertBelowInnermost(editor.doc.getXmlFragment('body').get(1) as Y.XmlElement)
      await eventually(() => assert.deepEqual(editor.closes[0], { code: CloseCode.InvalidUpdate, errorCode: 'ERR_NESTING_TOO_DEEP' }))
      assert.equal(server.child.exitCode, null)
    })
    test('an admin import of too-deep rich text is refused (400 ERR_NESTING_TOO_DEEP) before it is applied', async () => {
      const exported = new Y.Doc()
      appendElementChain(exported, 'body', 1_000)
      const response = await fetch(`${server.httpUrl}/admin/docs/content/c-imported/import`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await server.token({ user: 'ada', role: 'admin' })}`, 'content-type': 'application/json' },
        body: JSON.stringify({ update: Buffer.from(Y.encodeStateAsUpdate(exported)).toString('base64') }),
      })
      assert.equal(response.status, 400)
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'ERR_NESTING_TOO_DEEP')
      const reader = await openClient(server, 'content/c-imported', { user: 'rita', role: 'viewer' })
      cleanups.push(() => reader.destroy())
      assert.equal(reader.doc.getXmlFragment('body').length, 0)
    })
  })

  describe('stored before the limit existed', () => {
    const dir = { path: '' }
    const NAME = 'content/c-stored'
    const MAP_NAME = 'content/c-deep-map'
    /** The id of the stored chain's outermost element. */
    let chainId: Y.ID

    before(async () => {
      const made = await tempDir()
      cleanups.push(() => made.remove())
      dir.path = made.path
      // Written straight into LevelDB: two events (a legal paragraph, then the deep chain).
      const author = new Y.Doc()
      const updates: Uint8Array[] = []
      author.on('update', (update: Uint8Array) => updates.push(update))
      author.transact(() => {
        author.getMap('meta').set('legal', true)
        author.getXmlFragment('body').insert(0, [new Y.XmlText('Approved clause.')])
      })
      appendElementChain(author, 'body', STORED_DEPTH)
      chainId = (author.getXmlFragment('body').get(1) as Y.XmlElement)._item!.id
      // And a document whose map field holds maps nested as deep (written with the gate off, say).
      const mapAuthor = new Y.Doc()
      mapAuthor.transact(() => {
        let map = mapAuthor.getMap<unknown>('meta')
        for (let level = 0; level < STORED_DEPTH; level++) {
          const inner = new Y.Map<unknown>()
          map.set(level === 0 ? 'title' : 'inner', inner)
          map = inner
        }
      })
      const store = await DocumentStore.open(dir.path)
      await store.appendBatch(`acme/${MAP_NAME}`, { update: Y.encodeStateAsUpdate(mapAuthor), stateVector: Y.encodeStateVector(mapAuthor) })
      const event = (seq: number, update: Uint8Array): EventRecord => ({
        seq,
        at: Date.now(),
        userId: 'lea',
        device: null,
        outcome: 'accepted',
        applied: true,
        ruleIds: [],
        paths: ['body'],
        update,
      })
      for (const [index, update] of updates.entries()) {
        await store.appendBatch(`acme/${NAME}`, { update, stateVector: Y.encodeStateVector(author), events: [event(index + 1, update)] })
      }
      await store.close()
    })

    test('the CLI shows, diffs and verifies it (no stack overflow)', async () => {
      const offline = ['--data-dir', dir.path, '--tenant', 'acme']
      const shown = await cli([...offline, 'docs', 'show', NAME])
      assert.equal(shown.code, 0, shown.stderr)
      const body = (JSON.parse(shown.stdout) as { body: string }).body
      assert.ok(body.startsWith('Approved clause.<blockquote><blockquote>'), body.slice(0, 80))
      assert.equal(body.split('<blockquote>').length - 1, STORED_DEPTH)

      const diff = await cli([...offline, '--json', 'docs', 'diff', NAME, '1', '2'])
      assert.equal(diff.code, 0, diff.stderr)
      const differences = JSON.parse(diff.stdout) as Array<{ path: string; before: unknown; after: unknown }>
      assert.deepEqual(differences.map((difference) => difference.path), ['body'])
      assert.equal(differences[0]!.before, 'Approved clause.')

      const verified = await cli([...offline, '--json', 'docs', 'verify', NAME])
      assert.equal(verified.code, 0, verified.stdout + verified.stderr)
      assert.equal((JSON.parse(verified.stdout) as Array<{ ok: boolean }>)[0]!.ok, true)
    })

    test('the CLI shows and verifies a document with maps nested as deep (a marker below 256 levels; verify names the field)', async () => {
      const offline = ['--data-dir', dir.path, '--tenant', 'acme']
      const shown = await cli([...offline, 'docs', 'show', MAP_NAME])
      assert.equal(shown.code, 0, shown.stderr)
      assert.match(shown.stdout, /"inner": "\[nested deeper than 256 levels\]"/)
      const verified = await cli([...offline, '--json', 'docs', 'verify', MAP_NAME])
      assert.equal(verified.code, 1, verified.stderr)
      const [report] = JSON.parse(verified.stdout) as Array<{ ok: boolean; problems: string[] }>
      assert.equal(report!.ok, false)
      assert.match(report!.problems.join('; '), /meta\.title = .* breaks its schema/)
    })

    test('the server loads it; a non-legal edit is compensated over it; going deeper is refused; the process survives', async () => {
      const server = await spawnServer({ dataDir: dir.path, args: UNLIMITED })
      cleanups.push(() => server.stop())
      const editor = await openClient(server, NAME)
      cleanups.push(() => editor.destroy())
      assert.equal(elementDepth(editor.doc.getXmlFragment('body')), STORED_DEPTH)

      // A shallow edit of a legal body by a non-legal editor: snapshot and restore walk the deep tree.
      ;(editor.doc.getXmlFragment('body').get(0) as Y.XmlText).insert(0, 'Sneaky ')
      await eventually(() => {
        assert.ok(editor.notices.some((notice) => notice.ruleId === 'legal-review' && notice.outcome === 'review'), 'a legal-review notice')
        assert.equal((editor.doc.getXmlFragment('body').get(0) as Y.XmlText).toString(), 'Approved clause.')
      })
      assert.equal(server.child.exitCode, null)

      // Anything new inside the stored chain is deeper than the limit: refused, the process survives.
      insertBelowInnermost(editor.doc.getXmlFragment('body').get(1) as Y.XmlElement)
      await eventually(() => assert.deepEqual(editor.closes[0], { code: CloseCode.InvalidUpdate, errorCode: 'ERR_NESTING_TOO_DEEP' }))
      assert.equal(server.child.exitCode, null)

      // Deleting the whole deep chain: Yjs's deletion (and garbage collection) recurses once per level, so
      // applying it fails; the update is refused and the room reloaded, the process goes on.
      // (Built byte by byte: Yjs would recurse making the deletion too.) No structs; one deletion.
      const deletion = encoding.encode((encoder) => {
        encoding.writeVarUint(encoder, 0)
        for (const value of [1, chainId.client, 1, chainId.clock, 1]) encoding.writeVarUint(encoder, value)
      })
      const raw = await connectRawPeer(`${server.url}/${NAME}?token=${await server.token({ user: 'lea', legal: true })}`)
      raw.send(syncUpdateFrame(deletion))
      assert.deepEqual(await raw.closed.then(({ code, errorCode }) => ({ code, errorCode })), { code: CloseCode.InvalidUpdate, errorCode: 'ERR_UPDATE_APPLY_FAILED' })
      assert.equal(server.child.exitCode, null)
      const reader = await openClient(server, NAME, { user: 'rita', role: 'viewer' })
      cleanups.push(() => reader.destroy())
      assert.equal(elementDepth(reader.doc.getXmlFragment('body')), STORED_DEPTH)
      await expectOtherTenantWorks(server, 'Unaffected')
    })
  })
})
