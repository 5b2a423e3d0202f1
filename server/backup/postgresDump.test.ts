import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import { readTextField } from '../../shared/documentModel.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { startPostgres } from '../../shared/testing/postgresInstance.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import type { VerificationReport } from '../admin/documentVerification.ts'
import { adminCli } from '../testing/adminCli.ts'
import { adminRequest } from '../testing/adminRequests.ts'
import { clockOf, connectAckedClient } from '../testing/ackedClient.ts'
import { startServer } from '../testing/startServer.ts'

/**
 * The PostgreSQL store is backed up with PostgreSQL's own tools (README, Operations): the
 * procedure there, run for real — pg_dump of a server's database, pg_restore into a fresh
 * database, a server started on it serves the same documents.
 */

const DEBIAN_ROOT = '/usr/lib/postgresql'
const binary = async (name: string): Promise<string> => {
  const versions = (await readdir(DEBIAN_ROOT)).filter((entry) => /^\d+$/.test(entry)).sort((a, b) => Number(b) - Number(a))
  return path.join(process.env.POSTGRES_BIN ?? path.join(DEBIAN_ROOT, versions[0]!, 'bin'), name)
}
const run = (file: string, args: string[]) =>
  new Promise<{ code: number; output: string }>((resolve) =>
    execFile(file, args, (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr })),
  )

test('pg_dump of a running server\'s database, pg_restore into a fresh database: a server on it serves the same documents, which verify', async (t) => {
  const postgres = await startPostgres()
  t.after(() => postgres.stop())
  const server = await startServer({ postgresUrl: postgres.url })
  t.after(() => server.dispose())
  const titles = { 'proposal/pg-1': 'Harbour Crane Retrofit', 'proposal/pg-2': 'Tunnel Lighting Upgrade' }
  for (const [room, title] of Object.entries(titles)) {
    const writer = await connectAckedClient(server, room)
    writer.doc.getMap('meta').set('title', title)
    await eventually(() => assert.ok(clockOf(writer.acks.at(-1), writer.doc.clientID) >= 1, 'acknowledged'))
    writer.destroy()
  }
  const admin = await server.token({ user: 'ada', role: 'admin' })
  // This store's backups are PostgreSQL's: the server's own format is refused, with the reason.
  const refused = await fetch(`${server.httpUrl}/admin/backup`, { headers: { authorization: `Bearer ${admin}` } })
  assert.equal(refused.status, 400)
  assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'ERR_BACKUP_UNSUPPORTED')

  // pg_dump while the server runs (one consistent snapshot of the database: a repeatable-read transaction).
  const dumps = await tempDir('posalpro-pgdump-')
  t.after(() => dumps.remove())
  const dumpFile = path.join(dumps.path, 'collab.dump')
  const connection = ['-h', '127.0.0.1', '-p', String(postgres.port), '-U', 'postgres']
  const dumped = await run(await binary('pg_dump'), [...connection, '-Fc', '-d', new URL(postgres.url).pathname.slice(1), '-f', dumpFile])
  assert.equal(dumped.code, 0, dumped.output)
  const fresh = await postgres.createDatabase('collab_restored')
  const restored = await run(await binary('pg_restore'), [...connection, '--no-owner', '--exit-on-error', '-d', 'collab_restored', dumpFile])
  assert.equal(restored.code, 0, restored.output)

  const copy = await startServer({ postgresUrl: fresh })
  t.after(() => copy.dispose())
  for (const [room, title] of Object.entries(titles)) {
    const reader = await copy.connect(room)
    await reader.whenSynced()
    assert.equal(readTextField(reader.doc, 'proposal', 'title'), title)
    reader.destroy()
  }
  const copyAdmin = await copy.token({ user: 'ada', role: 'admin' })
  const listed = await adminRequest<{ documents: Array<{ name: string }> }>(copy, copyAdmin, 'GET', '/docs')
  assert.deepEqual(listed.body.documents.map((d) => d.name).sort(), Object.keys(titles).sort())
  for (const room of Object.keys(titles)) {
    const report = await adminRequest<VerificationReport>(copy, copyAdmin, 'GET', `/docs/${room}/verify`)
    assert.equal(report.body.ok, true, JSON.stringify(report.body))
    assert.ok(report.body.events >= 1, 'the event log came along')
  }
  // The offline CLI reads the restored database as it reads the original.
  const offline = await adminCli(['--postgres-url', fresh, '--tenant', 'acme', '--json', 'docs', 'verify', '--all'])
  assert.equal(offline.code, 0, offline.stdout + offline.stderr)
})
