import { describe, it, beforeEach, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { ErrorCode, isCollabError } from '../../shared/errors.ts'
import { AuthError, AuthErrorCode } from './authError.ts'
import {
  DEV_SECRET_FILE,
  DEV_TOKEN_ISSUER,
  devTokenRequest,
  devVerifierOptions,
  issueDevToken,
  loadOrCreateDevSecret,
  type DevTokenOptions,
} from './devMode.ts'
import { createTokenVerifier } from './tokenVerifier.ts'

const NOW = Date.UTC(2030, 5, 1)
const clock = () => NOW
const posix = process.platform !== 'win32'

const isDevRequestError = (pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof AuthError, String(error))
  assert.equal(error.code, AuthErrorCode.DevTokenRequest)
  assert.equal(error.status, 400)
  assert.match(error.message, pattern)
  return true
}

describe('loadOrCreateDevSecret', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'auth-dev-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('creates a 32-byte secret once (mode 0600) and reuses it', async () => {
    const dataDir = path.join(dir, 'data', 'nested')
    const first = await loadOrCreateDevSecret(dataDir)
    assert.equal(first.created, true)
    assert.equal(first.secret.length, 32)
    assert.equal(first.path, path.join(dataDir, DEV_SECRET_FILE))
    if (posix) assert.equal((await stat(first.path)).mode & 0o777, 0o600)
    const second = await loadOrCreateDevSecret(dataDir)
    assert.equal(second.created, false)
    assert.deepEqual(second.secret, first.secret)
    assert.deepEqual(await readdir(dataDir), [DEV_SECRET_FILE], 'no temporary files left behind')
  })

  it('concurrent first starts agree on one secret', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateDevSecret(dir)))
    assert.equal(results.filter((result) => result.created).length, 1)
    for (const result of results) assert.deepEqual(result.secret, results[0]?.secret)
    assert.deepEqual(await readdir(dir), [DEV_SECRET_FILE])
  })

  it('tightens a loosened file mode back to 0600', { skip: !posix }, async () => {
    const { path: file } = await loadOrCreateDevSecret(dir)
    await chmod(file, 0o644)
    await loadOrCreateDevSecret(dir)
    assert.equal((await stat(file)).mode & 0o777, 0o600)
  })

  it('refuses a corrupt secret file with ERR_BAD_CONFIG instead of replacing it', async () => {
    const file = path.join(dir, DEV_SECRET_FILE)
    await writeFile(file, 'too-short\n', { mode: 0o600 })
    await assert.rejects(
      loadOrCreateDevSecret(dir),
      (error: unknown) => isCollabError(error) && error.code === ErrorCode.BadConfig && /delete it/.test(error.message),
    )
    assert.equal(await readFile(file, 'utf8'), 'too-short\n')
  })
})

describe('issueDevToken', () => {
  const secret = new Uint8Array(32).fill(7)
  const verifier = createTokenVerifier({ ...devVerifierOptions(secret), now: clock })

  it('round-trips through the verifier', async () => {
    const { token, identity } = await issueDevToken(
      secret,
      { user: 'alice@example.com', role: 'manager', tenant: 'acme', name: 'Alice', legal: true, device: 'laptop:1' },
      clock,
    )
    const verified = await verifier.verify(token)
    assert.deepEqual(verified, identity)
    assert.deepEqual(verified, {
      userId: 'alice@example.com',
      name: 'Alice',
      tenant: 'acme',
      role: 'manager',
      legal: true,
      device: 'laptop:1',
      expiresAt: NOW + 3600_000,
    })
    assert.deepEqual(decodeProtectedHeader(token), { alg: 'HS256', typ: 'JWT' })
    const payload = decodeJwt(token)
    assert.equal(payload.iss, DEV_TOKEN_ISSUER)
    assert.equal(payload.iat, NOW / 1000)
    assert.equal(payload.exp, NOW / 1000 + 3600, 'exp is in seconds, one hour by default')
  })

  it('defaults name to the user, omits legal/device, honours ttlSeconds', async () => {
    const { token } = await issueDevToken(secret, { user: 'bob', role: 'viewer', tenant: 't1', ttlSeconds: 60 }, clock)
    const identity = await verifier.verify(token)
    assert.equal(identity.name, 'bob')
    assert.equal(identity.legal, false)
    assert.equal(identity.device, null)
    assert.equal(identity.expiresAt, NOW + 60_000)
    assert.equal('legal' in decodeJwt(token), false)
  })

  it('a dev token from another secret is refused', async () => {
    const { token } = await issueDevToken(new Uint8Array(32).fill(8), { user: 'eve', role: 'admin', tenant: 'acme' }, clock)
    await assert.rejects(verifier.verify(token), (error: unknown) => error instanceof AuthError && error.reason === 'bad-signature')
  })

  it('expires after its ttl', async () => {
    const { token } = await issueDevToken(secret, { user: 'bob', role: 'viewer', tenant: 't1', ttlSeconds: 60 }, clock)
    const later = createTokenVerifier({ ...devVerifierOptions(secret), now: () => NOW + 66_000 })
    await assert.rejects(later.verify(token), (error: unknown) => error instanceof AuthError && (error.code as string) === AuthErrorCode.TokenExpired)
  })

  it('validates its inputs with ERR_DEV_TOKEN_REQUEST', async () => {
    const base: DevTokenOptions = { user: 'alice', role: 'editor', tenant: 'acme' }
    const bad = (options: unknown, pattern: RegExp) =>
      assert.rejects(issueDevToken(secret, options as DevTokenOptions, clock), isDevRequestError(pattern))
    await bad({ ...base, role: 'superuser' }, /role must be one of viewer, editor, manager, admin \(got "superuser"\)/)
    await bad({ ...base, tenant: 'acme/other' }, /tenant must be 1–64/)
    await bad({ ...base, tenant: '' }, /tenant/)
    await bad({ ...base, user: '' }, /user/)
    await bad({ ...base, user: 'al ice' }, /user/)
    await bad({ ...base, name: 'a\u0000b' }, /name must not contain control characters/)
    await bad({ ...base, ttlSeconds: 0 }, /ttl must be at least 1 second/)
    await bad({ ...base, ttlSeconds: 1.5 }, /ttl must be a whole number/)
    await bad({ ...base, ttlSeconds: 8 * 24 * 3600 }, /ttl must be at most 604800/)
    await bad({ role: 'editor' }, /user is required; tenant is required/)
  })

  it('refuses a secret shorter than 32 bytes with ERR_BAD_CONFIG', async () => {
    await assert.rejects(
      issueDevToken(new Uint8Array(16), { user: 'a', role: 'viewer', tenant: 't' }),
      (error: unknown) => isCollabError(error) && error.code === ErrorCode.BadConfig,
    )
  })
})

describe('devTokenRequest', () => {
  const request = (query: string) => devTokenRequest(new URL(`http://127.0.0.1:1234/dev/token${query}`))

  it('parses every parameter', () => {
    assert.deepEqual(request('?user=alice&role=admin&tenant=acme&name=Alice%20A.&legal=true&device=pc-1&ttl=120'), {
      user: 'alice',
      role: 'admin',
      tenant: 'acme',
      name: 'Alice A.',
      legal: true,
      device: 'pc-1',
      ttlSeconds: 120,
    })
    assert.deepEqual(request('?user=bob&role=viewer&tenant=t&legal=0'), { user: 'bob', role: 'viewer', tenant: 't', legal: false })
  })

  it('its result issues a token the dev verifier accepts', async () => {
    const secret = new Uint8Array(32).fill(1)
    const { token } = await issueDevToken(secret, request('?user=carol&role=editor&tenant=acme&legal=1'), clock)
    const identity = await createTokenVerifier({ ...devVerifierOptions(secret), now: clock }).verify(token)
    assert.equal(identity.userId, 'carol')
    assert.equal(identity.legal, true)
  })

  it('refuses bad requests with a 400-worthy ERR_DEV_TOKEN_REQUEST', () => {
    const bad = (query: string, pattern: RegExp) => assert.throws(() => request(query), isDevRequestError(pattern))
    bad('', /missing user, role, tenant/)
    bad('?user=alice&tenant=acme', /missing role/)
    bad('?user=alice&role=superuser&tenant=acme', /role must be one of/)
    bad('?user=alice&role=editor&tenant=', /tenant/)
    bad('?user=alice&rol=admin&tenant=acme', /unknown parameter "rol" \(allowed: user, role, tenant, name, legal, device, amr, ttl\)/)
    bad('?user=alice&role=editor&role=admin&tenant=acme', /role given more than once/)
    bad('?user=alice&role=editor&tenant=acme&legal=maybe', /legal must be true or false \(got "maybe"\)/)
    bad('?user=alice&role=editor&tenant=acme&ttl=1h', /ttl must be a whole number of seconds/)
    bad('?user=alice&role=editor&tenant=acme&ttl=0', /ttl must be at least 1 second/)
    bad('?user=alice&role=editor&tenant=acme&ttl=99999999', /ttl must be at most/)
  })
})
