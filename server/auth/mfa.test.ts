import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { decodeJwt } from 'jose'
import { ErrorCode } from '../../shared/errors.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { loadConfig } from '../config.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import { showsSecondFactor } from './mfa.ts'

/** The status and error code of a refused upgrade. */
const refusedUpgrade = async (server: TestServer, amr?: string): Promise<{ status: number; code: string }> => {
  try {
    const peer = await server.raw('/proposal/mfa', amr === undefined ? {} : { amr })
    peer.close()
  } catch (error) {
    const { status, body } = error as { status?: number; body?: string }
    if (status === undefined) throw error
    return { status, code: (JSON.parse(body ?? '{}') as { error: { code: string } }).error.code }
  }
  throw new Error('the upgrade was accepted')
}

describe('MFA for sync (--require-mfa)', () => {
  let server: TestServer
  before(async () => {
    server = await startServer({ requireMfa: true })
  })
  after(() => server.dispose())

  test('a token without amr, or with only a password, is refused before the upgrade: 401 ERR_MFA_REQUIRED', async () => {
    assert.deepEqual(await refusedUpgrade(server), { status: 401, code: ErrorCode.MfaRequired })
    assert.deepEqual(await refusedUpgrade(server, 'pwd'), { status: 401, code: ErrorCode.MfaRequired })
    assert.deepEqual(await refusedUpgrade(server, 'pwd,sms'), { status: 401, code: ErrorCode.MfaRequired })
  })

  test('a token whose amr shows a second factor is admitted; a stock client syncs', async () => {
    const writer = await server.connect('proposal/mfa-sync', { amr: 'pwd,otp' })
    const reader = await server.connect('proposal/mfa-sync', { user: 'bob', amr: 'mfa' })
    try {
      await Promise.all([writer.whenSynced(), reader.whenSynced()])
      writer.doc.getMap('meta').set('title', 'two factors')
      await eventually(() => assert.equal(reader.doc.getMap('meta').get('title'), 'two factors'))
    } finally {
      writer.destroy()
      reader.destroy()
    }
    const hardwareKey = await server.raw('/proposal/mfa-sync', { amr: 'hwk' })
    hardwareKey.close()
  })

  test('the HTTP APIs ask the same: 401 ERR_MFA_REQUIRED without a second factor', async () => {
    const list = (token: string) => fetch(`${server.httpUrl}/api/documents`, { headers: { authorization: `Bearer ${token}` } })
    const refused = await list(await server.token())
    assert.equal(refused.status, 401)
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, ErrorCode.MfaRequired)
    assert.equal((await list(await server.token({ amr: 'pwd,otp' }))).status, 200)
  })

  test('a bad token is still reported as what it is, not as missing MFA', async () => {
    try {
      await server.raw('/proposal/mfa', { token: 'not.a.jwt' })
      assert.fail('accepted')
    } catch (error) {
      assert.equal(JSON.parse((error as { body: string }).body).error.code, ErrorCode.TokenInvalid)
    }
  })
})

describe('MFA off (the default)', () => {
  test('a token without amr is admitted', async () => {
    const server = await startServer()
    try {
      const peer = await server.raw('/proposal/no-mfa')
      peer.close()
    } finally {
      await server.dispose()
    }
  })
})

describe('dev tokens carry amr', () => {
  test('/dev/token?amr=pwd,otp mints an RFC 8176 array; a malformed amr is a 400', async () => {
    const server = await startServer()
    try {
      assert.deepEqual(decodeJwt(await server.token({ amr: 'pwd,otp' })).amr, ['pwd', 'otp'])
      assert.equal(decodeJwt(await server.token()).amr, undefined)
      for (const amr of ['', 'PWD', 'pwd,,otp', 'a'.repeat(17), Array.from({ length: 9 }, () => 'otp').join(',')]) {
        const response = await fetch(`${server.httpUrl}/dev/token?user=ann&role=editor&tenant=acme&amr=${encodeURIComponent(amr)}`)
        assert.equal(response.status, 400, amr)
        assert.equal(((await response.json()) as { error: { code: string } }).error.code, ErrorCode.DevTokenRequest)
      }
    } finally {
      await server.dispose()
    }
  })
})

test('which amr values show a second factor', () => {
  for (const amr of [['mfa'], ['pwd', 'otp'], ['hwk'], ['swk', 'pwd'], ['sc']]) assert.equal(showsSecondFactor(amr), true, String(amr))
  for (const amr of [undefined, null, 'mfa', ['pwd'], ['pwd', 'pin'], ['sms'], ['fpt'], [], [1, 2], { 0: 'mfa' }, Array.from({ length: 33 }, () => 'otp')]) {
    assert.equal(showsSecondFactor(amr), false, JSON.stringify(amr))
  }
})

test('--require-mfa / COLLAB_REQUIRE_MFA is a strict boolean', () => {
  assert.equal(loadConfig(['--dev']).requireMfa, false)
  assert.equal(loadConfig(['--dev', '--require-mfa']).requireMfa, true)
  assert.equal(loadConfig(['--dev'], { COLLAB_REQUIRE_MFA: '1' }).requireMfa, true)
  assert.throws(() => loadConfig(['--dev'], { COLLAB_REQUIRE_MFA: 'TRUE' }), { code: ErrorCode.BadConfig })
  assert.throws(() => loadConfig(['--dev'], { COLLAB_REQUIRE_MFA: 'yes' }), { code: ErrorCode.BadConfig })
})
