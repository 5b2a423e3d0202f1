import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as Y from 'yjs'
import { eventually } from '../../shared/testing/eventually.ts'
import { adminRequest } from '../testing/adminRequests.ts'
import { startServer } from '../testing/startServer.ts'
import type { IntegrityReport } from './backgroundVerifier.ts'

const counter = async (httpUrl: string, line: string): Promise<number> => {
  const text = await (await fetch(`${httpUrl}/metrics`)).text()
  const found = text.split('\n').find((entry) => entry.startsWith(`${line} `))
  return found ? Number(found.slice(line.length + 1)) : 0
}

test('the background verifier walks idle stored documents, lists the damaged one with its problems and raises the integrity metric', async () => {
  const server = await startServer({ verifyIntervalMs: 20 })
  try {
    for (const id of ['sound', 'damaged']) {
      const client = await server.connect(`proposal/${id}`)
      client.doc.getText('title').insert(0, `Proposal ${id}`)
      await eventually(async () => assert.ok((await server.server.store.loadUpdates(`${server.tenant}/proposal/${id}`)).length > 0, 'stored'))
      client.destroy()
    }
    await eventually(() => assert.equal(server.server.rooms.size, 0, 'both unloaded: idle'))

    // Damage one behind the server's back: a stored update no event records, breaking a schema.
    const bad = new Y.Doc()
    bad.getMap('financial').set('value', 'a lot')
    await server.server.store.appendBatch(`${server.tenant}/proposal/damaged`, { update: Y.encodeStateAsUpdate(bad) })

    const admin = await server.token({ user: 'root', role: 'admin' })
    await eventually(async () => {
      const { status, body } = await adminRequest<IntegrityReport>(server, admin, 'GET', '/integrity')
      assert.equal(status, 200, 'answered')
      assert.ok(body.passes >= 2, 'a pass after the damage')
      assert.deepEqual(body.problems.map((problem) => problem.document), ['proposal/damaged'], 'only the damaged document')
      const problems = body.problems[0]!.problems.join('\n')
      assert.match(problems, /event log does not rebuild/, 'the unrecorded update')
      assert.match(problems, /financial\.value = "a lot" breaks its schema/, 'the broken field')
    }, { timeoutMs: 20_000 })
    assert.ok((await counter(server.httpUrl, 'collab_integrity_problems_total{source="verifier"}')) >= 1, 'the integrity metric rose')
    assert.equal(await counter(server.httpUrl, 'collab_documents_with_problems'), 1, 'one document with problems')

    const other = await adminRequest<IntegrityReport>(server, await server.token({ user: 'root', role: 'admin', tenant: 'globex' }), 'GET', '/integrity')
    assert.deepEqual(other.body.problems, [], "another tenant's admin does not see it")
  } finally {
    await server.dispose()
  }
})
