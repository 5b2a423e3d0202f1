import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startPostgres } from '../../shared/testing/postgresInstance.ts'
import { adminCli } from '../testing/adminCli.ts'
import { startServer } from '../testing/startServer.ts'
import type { AuditReport } from './auditReport.ts'

test('copy-to-postgres carries the access audit: the offline report on PostgreSQL lists what the LevelDB server recorded', async (t) => {
  const postgres = await startPostgres()
  t.after(() => postgres.stop())
  const leveldb = await startServer({ auditFlushMs: 10 })
  t.after(() => leveldb.dispose())
  for (const user of ['ann', 'ben']) (await leveldb.raw('/proposal/audit-copy', { user })).close()
  try {
    ;(await leveldb.raw('/proposal/audit-copy', { token: null })).close()
  } catch {
    // refused (no token): recorded under tenant "-"
  }
  await leveldb.stop()

  const copied = await adminCli(['copy-to-postgres', '--from-data-dir', leveldb.dataDir, '--to-postgres-url', postgres.url])
  assert.equal(copied.code, 0, copied.stderr)
  assert.match(copied.stdout, /^copied 3 access audit records$/m)
  const period = ['--from', '2000-01-01', '--to', '2100-01-01', '--format', 'json']
  const report = async (args: string[], tenant: string) => {
    const answer = await adminCli([...args, '--tenant', tenant, 'audit', 'report', ...period])
    assert.equal(answer.code, 0, answer.stderr)
    return (JSON.parse(answer.stdout) as AuditReport).records
  }
  const onPostgres = await report(['--postgres-url', postgres.url], 'acme')
  assert.deepEqual(onPostgres.map((record) => record.userId), ['ann', 'ben'])
  assert.deepEqual(onPostgres, await report(['--data-dir', leveldb.dataDir], 'acme'))
  assert.deepEqual((await report(['--postgres-url', postgres.url], '-')).map((record) => record.code), ['ERR_TOKEN_MISSING'])
})
