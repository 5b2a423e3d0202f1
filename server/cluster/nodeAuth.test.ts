import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import { after, before, describe, test } from 'node:test'
import { ErrorCode } from '../../shared/errors.ts'
import { loadOrCreateDevSecret } from '../auth/devMode.ts'
import { CLIENT_ADDRESS_HEADER } from './forwarding.ts'
import { NODE_AUTH_HEADER, NODE_AUTH_WINDOW_MS, NodeAuth } from './nodeAuth.ts'
import { startCluster, type TestCluster } from './testing/testCluster.ts'

describe('node-to-node signatures', () => {
  const secret = randomBytes(32)
  const sender = NodeAuth.derive(secret, 'node-a')
  const receiver = NodeAuth.derive(secret, 'node-b')
  const refused = (run: () => unknown, pattern: RegExp) =>
    assert.throws(run, (error: { code: string; message: string }) => error.code === ErrorCode.NodeAuthFailed && pattern.test(error.message))

  test('a signature made with the shared key is accepted and names its sender', () => {
    assert.equal(receiver.verify(sender.sign('GET', '/internal/forward/acme/proposal/p', '10.0.0.7'), 'GET', '/internal/forward/acme/proposal/p', '10.0.0.7'), 'node-a')
  })

  test('forged, tampered, replayed elsewhere or stale signatures are refused', () => {
    const header = sender.sign('GET', '/internal/forward/acme/proposal/p', '10.0.0.7')
    refused(() => receiver.verify(undefined, 'GET', '/x'), /no signature/)
    refused(() => receiver.verify('garbage', 'GET', '/x'), /malformed/)
    refused(() => receiver.verify(NodeAuth.derive(randomBytes(32), 'node-a').sign('GET', '/p'), 'GET', '/p'), /bad signature/)
    refused(() => receiver.verify(header, 'GET', '/internal/forward/acme/proposal/q', '10.0.0.7'), /bad signature/)
    refused(() => receiver.verify(header, 'GET', '/internal/forward/acme/proposal/p', '10.0.0.8'), /bad signature/)
    refused(() => receiver.verify(header.replace(':node-a', ':node-c'), 'GET', '/internal/forward/acme/proposal/p', '10.0.0.7'), /bad signature/)
    const old = sender.sign('GET', '/p', '', Date.now() - NODE_AUTH_WINDOW_MS - 1_000)
    refused(() => receiver.verify(old, 'GET', '/p', ''), /time window/)
  })
})

describe('a node refuses forwarded upgrades that are not signed by a node of its cluster', () => {
  let cluster: TestCluster
  before(async () => {
    cluster = await startCluster(1)
  })
  after(() => cluster.stop())

  const upgrade = (headers: Record<string, string>, path = '/internal/forward/acme/proposal/forged'): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const request = http.request(`${cluster.nodes[0]!.httpUrl}${path}`, {
        headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64'), ...headers },
      })
      request.on('response', (response) => {
        let body = ''
        response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
      })
      request.on('upgrade', (_response, socket) => {
        socket.destroy()
        reject(new Error('upgraded'))
      })
      request.on('error', reject)
      request.end()
    })

  test('no signature, a forged one, one for another address, a stale one: 401 ERR_NODE_AUTH_FAILED, nothing upgraded', async () => {
    const token = await cluster.nodes[0]!.token({ user: 'mallory', role: 'admin' })
    const path = '/internal/forward/acme/proposal/forged'
    const { secret } = await loadOrCreateDevSecret(cluster.dataDir)
    const real = NodeAuth.derive(secret, 'node-x')
    const attempts: Array<Record<string, string>> = [
      {},
      { [NODE_AUTH_HEADER]: NodeAuth.derive(randomBytes(32), 'node-x').sign('GET', path, '1.2.3.4'), [CLIENT_ADDRESS_HEADER]: '1.2.3.4' },
      { [NODE_AUTH_HEADER]: real.sign('GET', path, '1.2.3.4'), [CLIENT_ADDRESS_HEADER]: '5.6.7.8' },
      { [NODE_AUTH_HEADER]: real.sign('GET', path, '1.2.3.4', Date.now() - NODE_AUTH_WINDOW_MS - 5_000), [CLIENT_ADDRESS_HEADER]: '1.2.3.4' },
    ]
    for (const headers of attempts) {
      const { status, body } = await upgrade({ ...headers, 'sec-websocket-protocol': `posalpro-collab, bearer.${token}` }, path)
      assert.equal(status, 401, body)
      assert.equal((JSON.parse(body) as { error: { code: string } }).error.code, ErrorCode.NodeAuthFailed)
    }
    // The same request signed with the cluster's key is taken.
    await assert.rejects(
      upgrade({ [NODE_AUTH_HEADER]: real.sign('GET', path, '1.2.3.4'), [CLIENT_ADDRESS_HEADER]: '1.2.3.4', 'sec-websocket-protocol': `posalpro-collab, bearer.${token}` }, path),
      /upgraded/,
    )
  })
})
