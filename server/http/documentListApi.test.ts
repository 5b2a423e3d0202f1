import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { eventually } from '../../shared/testing/eventually.ts'
import { startServer } from '../testing/startServer.ts'

describe('GET /api/documents', () => {
  test("lists the caller's tenant's documents (names only) for any role; other tenants' stay invisible; a token is required", async () => {
    const server = await startServer()
    const clients: Array<{ destroy(): void }> = []
    try {
      for (const [room, tenant] of [
        ['proposal/p-1', 'acme'],
        ['customer/c-1', 'acme'],
        ['proposal/other', 'globex'],
      ] as const) {
        const client = await server.connect(room, { tenant })
        await client.whenSynced()
        client.doc.getMap(room.startsWith('customer') ? 'fields' : 'meta').set(room.startsWith('customer') ? 'name' : 'title', 'x')
        clients.push(client)
      }
      const list = async (token: string) => {
        const response = await fetch(`${server.httpUrl}/api/documents`, { headers: { authorization: `Bearer ${token}` } })
        return { status: response.status, body: (await response.json()) as { documents?: unknown[]; error?: { code: string } } }
      }
      const viewerToken = await server.token({ role: 'viewer' })
      // A document is listed from its first durable write on.
      await eventually(async () => {
        const acme = await list(viewerToken)
        assert.equal(acme.status, 200)
        assert.deepEqual(acme.body.documents, [
          { name: 'customer/c-1', type: 'customer', id: 'c-1' },
          { name: 'proposal/p-1', type: 'proposal', id: 'p-1' },
        ])
      })
      const globex = await list(await server.token({ tenant: 'globex' }))
      assert.deepEqual(globex.body.documents, [{ name: 'proposal/other', type: 'proposal', id: 'other' }])

      const missing = await fetch(`${server.httpUrl}/api/documents`)
      assert.equal(missing.status, 401)
      assert.deepEqual(((await missing.json()) as { error: unknown }).error, {
        code: 'ERR_TOKEN_MISSING',
        message: 'no token: send it as "Authorization: Bearer <token>"',
      })
      const bad = await list('not-a-jwt')
      assert.equal(bad.status, 401)
      assert.equal(bad.body.error?.code, 'ERR_TOKEN_INVALID')
    } finally {
      for (const client of clients) client.destroy()
      await server.dispose()
    }
  })
})
