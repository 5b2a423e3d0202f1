import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { SignJWT, base64url, exportJWK, exportPKCS8, exportSPKI, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose'
import { ErrorCode, isCollabError } from '../../shared/errors.ts'
import { AuthError, AuthErrorCode, type AuthFailureReason } from './authError.ts'
import { createTokenVerifier, DEFAULT_CLOCK_TOLERANCE_SEC, formatDuration, MAX_TOKEN_LENGTH, type TokenVerifier, type TokenVerifierOptions } from './tokenVerifier.ts'

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0)
const NOW_SEC = NOW / 1000
const clock = () => NOW
const SECRET = 'a-test-secret-that-is-at-least-32-bytes-long!'

const claims = (overrides: Record<string, unknown> = {}): JWTPayload => ({
  sub: 'alice',
  name: 'Alice Example',
  tenant: 'acme',
  role: 'editor',
  exp: NOW_SEC + 600,
  ...overrides,
})
const withoutExp = (): JWTPayload => {
  const { exp: _exp, ...rest } = claims()
  return rest
}

const sign = (
  payload: JWTPayload,
  key: CryptoKey | Uint8Array,
  alg: string,
  header: Record<string, unknown> = {},
): Promise<string> => new SignJWT(payload).setProtectedHeader({ ...header, alg }).sign(key)

const secretBytes = (text: string) => new TextEncoder().encode(text)

/** Asserts a rejection with the given code/reason, and that the message never contains the token. */
const rejects = async (
  verifier: TokenVerifier,
  token: string,
  code: string,
  reason: AuthFailureReason,
  message?: RegExp,
): Promise<AuthError> => {
  const error = await verifier.verify(token).then(
    () => assert.fail(`expected ${code} (${reason}), but the token was accepted`),
    (caught: unknown) => caught,
  )
  assert.ok(error instanceof AuthError, `expected an AuthError, got ${String(error)}`)
  assert.ok(isCollabError(error), 'an AuthError is a CollabError')
  assert.equal(error.code, code, error.message)
  assert.equal(error.reason, reason, error.message)
  assert.equal(error.status, 401)
  if (message) assert.match(error.message, message)
  if (token.trim().length > 0) {
    assert.ok(!error.message.includes(token), 'message must not contain the token')
    const signature = token.split('.')[2]
    if (signature && signature.length >= 16) assert.ok(!error.message.includes(signature), 'message must not contain the signature')
  }
  return error
}

describe('createTokenVerifier', () => {
  let rsa: { publicKey: CryptoKey; privateKey: CryptoKey }
  let rsaPem: string
  let ec: { publicKey: CryptoKey; privateKey: CryptoKey }
  let ecPem: string
  let otherRsa: { publicKey: CryptoKey; privateKey: CryptoKey }
  let dir: string
  let jwksPath: string
  let hs: TokenVerifier
  let rs: TokenVerifier
  let es: TokenVerifier
  let jwks: TokenVerifier

  before(async () => {
    rsa = await generateKeyPair('RS256', { extractable: true })
    ec = await generateKeyPair('ES256', { extractable: true })
    otherRsa = await generateKeyPair('RS256', { extractable: true })
    rsaPem = await exportSPKI(rsa.publicKey)
    ecPem = await exportSPKI(ec.publicKey)
    dir = await mkdtemp(path.join(tmpdir(), 'auth-verifier-'))
    jwksPath = path.join(dir, 'jwks.json')
    const rsaJwk = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', use: 'sig', alg: 'RS256' }
    const ecJwk = { ...(await exportJWK(ec.publicKey)), kid: 'ec-1' }
    await writeFile(jwksPath, JSON.stringify({ keys: [rsaJwk, ecJwk] }))
    const base = { now: clock }
    hs = createTokenVerifier({ ...base, key: { kind: 'hs256', secret: SECRET } })
    rs = createTokenVerifier({ ...base, key: { kind: 'pem', algorithm: 'RS256', publicKeyPem: rsaPem } })
    es = createTokenVerifier({ ...base, key: { kind: 'pem', algorithm: 'ES256', publicKeyPem: ecPem } })
    jwks = createTokenVerifier({ ...base, key: { kind: 'jwks-file', path: jwksPath } })
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  describe('valid tokens', () => {
    it('HS256 with a shared secret → Identity', async () => {
      const token = await sign(claims({ legal: true, device: 'laptop-7' }), secretBytes(SECRET), 'HS256')
      assert.deepEqual(await hs.verify(token), {
        userId: 'alice',
        name: 'Alice Example',
        tenant: 'acme',
        role: 'editor',
        legal: true,
        device: 'laptop-7',
        expiresAt: (NOW_SEC + 600) * 1000,
      })
      assert.deepEqual(hs.algorithms, ['HS256'])
    })

    it('HS256 with a Uint8Array secret', async () => {
      const secret = crypto.getRandomValues(new Uint8Array(32))
      const verifier = createTokenVerifier({ key: { kind: 'hs256', secret }, now: clock })
      const identity = await verifier.verify(await sign(claims(), secret, 'HS256'))
      assert.equal(identity.userId, 'alice')
      assert.equal(identity.legal, false)
      assert.equal(identity.device, null)
    })

    it('RS256 with a PEM public key', async () => {
      const identity = await rs.verify(await sign(claims({ role: 'admin' }), rsa.privateKey, 'RS256'))
      assert.equal(identity.role, 'admin')
      assert.deepEqual(rs.algorithms, ['RS256'])
    })

    it('ES256 with a PEM public key', async () => {
      const identity = await es.verify(await sign(claims({ role: 'viewer' }), ec.privateKey, 'ES256'))
      assert.equal(identity.role, 'viewer')
    })

    it('JWKS file: RS256 and ES256 keys, chosen by kid', async () => {
      assert.deepEqual(jwks.algorithms, ['ES256', 'RS256'])
      const viaRsa = await jwks.verify(await sign(claims({ sub: 'rsa-user' }), rsa.privateKey, 'RS256', { kid: 'rsa-1' }))
      assert.equal(viaRsa.userId, 'rsa-user')
      const viaEc = await jwks.verify(await sign(claims({ sub: 'ec-user' }), ec.privateKey, 'ES256', { kid: 'ec-1' }))
      assert.equal(viaEc.userId, 'ec-user')
      const noKid = await jwks.verify(await sign(claims({ sub: 'no-kid' }), ec.privateKey, 'ES256'))
      assert.equal(noKid.userId, 'no-kid')
    })

    it('accepts a token expired less than the clock tolerance ago', async () => {
      const identity = await hs.verify(await sign(claims({ exp: NOW_SEC - 4 }), secretBytes(SECRET), 'HS256'))
      assert.equal(identity.expiresAt, (NOW_SEC - 4) * 1000)
    })

    it('passes matching issuer and audience (string or list)', async () => {
      const verifier = createTokenVerifier({
        key: { kind: 'hs256', secret: SECRET },
        issuer: ['https://idp.example', 'https://idp2.example'],
        audience: 'posalpro-collab',
        now: clock,
      })
      const token = await sign(claims({ iss: 'https://idp2.example', aud: ['other', 'posalpro-collab'] }), secretBytes(SECRET), 'HS256')
      assert.equal((await verifier.verify(token)).userId, 'alice')
    })
  })

  describe('refused tokens', () => {
    it('no token → ERR_TOKEN_MISSING', async () => {
      await rejects(hs, '', AuthErrorCode.TokenMissing, 'missing', /no token/)
      await rejects(hs, '   ', AuthErrorCode.TokenMissing, 'missing')
    })

    it('not a JWT → ERR_TOKEN_INVALID (malformed)', async () => {
      await rejects(hs, 'not-a-jwt', AuthErrorCode.TokenInvalid, 'malformed', /three base64url parts/)
      await rejects(hs, 'a.b.c.d.e', AuthErrorCode.TokenInvalid, 'malformed', /JWE/)
      await rejects(hs, 'e30.e30.!!', AuthErrorCode.TokenInvalid, 'malformed')
      await rejects(hs, 'bm90IGpzb24.e30.', AuthErrorCode.TokenInvalid, 'malformed', /header/)
      await rejects(hs, 'x'.repeat(MAX_TOKEN_LENGTH + 1), AuthErrorCode.TokenInvalid, 'malformed', /limit/)
    })

    it('bad signature: signed with another key, or payload altered', async () => {
      await rejects(hs, await sign(claims(), secretBytes(`${SECRET}-other`), 'HS256'), AuthErrorCode.TokenInvalid, 'bad-signature', /signature/)
      await rejects(rs, await sign(claims(), otherRsa.privateKey, 'RS256'), AuthErrorCode.TokenInvalid, 'bad-signature')
      const [header, , signature] = (await sign(claims(), rsa.privateKey, 'RS256')).split('.')
      const forged = base64url.encode(JSON.stringify(claims({ role: 'admin' })))
      await rejects(rs, `${header}.${forged}.${signature}`, AuthErrorCode.TokenInvalid, 'bad-signature')
      await rejects(jwks, await sign(claims(), otherRsa.privateKey, 'RS256', { kid: 'rsa-1' }), AuthErrorCode.TokenInvalid, 'bad-signature')
    })

    it('alg "none" (hand-crafted, empty signature) is refused by every key source', async () => {
      const encode = (value: unknown) => base64url.encode(JSON.stringify(value))
      for (const alg of ['none', 'None', 'NONE']) {
        const unsigned = `${encode({ alg, typ: 'JWT' })}.${encode(claims({ role: 'admin' }))}.`
        for (const verifier of [hs, rs, es, jwks]) {
          await rejects(verifier, unsigned, AuthErrorCode.TokenInvalid, 'unsupported-alg', /"none"/)
        }
      }
    })

    it('algorithm confusion: HS256 "signed" with the RS256 public key PEM as the HMAC secret', async () => {
      const confused = await sign(claims({ role: 'admin' }), secretBytes(rsaPem), 'HS256')
      const error = await rejects(rs, confused, AuthErrorCode.TokenInvalid, 'unsupported-alg', /"HS256" is not accepted.*RS256/)
      assert.doesNotMatch(error.message, /BEGIN PUBLIC KEY/)
      // Same attack against the JWKS verifier, with the key's kid.
      const confusedJwk = await sign(claims({ role: 'admin' }), secretBytes(JSON.stringify((await exportJWK(rsa.publicKey)))), 'HS256', { kid: 'rsa-1' })
      await rejects(jwks, confusedJwk, AuthErrorCode.TokenInvalid, 'unsupported-alg')
    })

    it('a valid token of another asymmetric algorithm is refused', async () => {
      await rejects(rs, await sign(claims(), ec.privateKey, 'ES256'), AuthErrorCode.TokenInvalid, 'unsupported-alg', /ES256/)
      await rejects(es, await sign(claims(), rsa.privateKey, 'RS256'), AuthErrorCode.TokenInvalid, 'unsupported-alg')
      await rejects(hs, await sign(claims(), rsa.privateKey, 'RS256'), AuthErrorCode.TokenInvalid, 'unsupported-alg')
    })

    it('JWKS: unknown kid → ERR_TOKEN_INVALID (no-matching-key)', async () => {
      const token = await sign(claims(), rsa.privateKey, 'RS256', { kid: 'rotated-away' })
      await rejects(jwks, token, AuthErrorCode.TokenInvalid, 'no-matching-key', /kid "rotated-away"/)
    })

    it('expired 1 s beyond the tolerance → ERR_TOKEN_EXPIRED, saying by how long', async () => {
      const token = await sign(claims({ exp: NOW_SEC - 6 }), secretBytes(SECRET), 'HS256')
      const error = await rejects(hs, token, AuthErrorCode.TokenExpired, 'expired', /expired 6 s ago/)
      assert.match(error.message, /2030-01-01T11:59:54\.000Z/)
      assert.match(error.message, /tolerance 5 s/)
      const old = await sign(claims({ exp: NOW_SEC - 2 * 3600 - 60 }), secretBytes(SECRET), 'HS256')
      await rejects(hs, old, AuthErrorCode.TokenExpired, 'expired', /expired 2 h 1 min ago/)
    })

    it('clockToleranceSec is configurable', async () => {
      const strict = createTokenVerifier({ key: { kind: 'hs256', secret: SECRET }, clockToleranceSec: 0, now: clock })
      await rejects(strict, await sign(claims({ exp: NOW_SEC }), secretBytes(SECRET), 'HS256'), AuthErrorCode.TokenExpired, 'expired')
      const lenient = createTokenVerifier({ key: { kind: 'hs256', secret: SECRET }, clockToleranceSec: 60, now: clock })
      assert.equal((await lenient.verify(await sign(claims({ exp: NOW_SEC - 30 }), secretBytes(SECRET), 'HS256'))).userId, 'alice')
    })

    it('missing exp → ERR_TOKEN_CLAIMS (missing-claim)', async () => {
      await rejects(hs, await sign(withoutExp(), secretBytes(SECRET), 'HS256'), AuthErrorCode.TokenClaims, 'missing-claim', /"exp"/)
      await rejects(rs, await sign(withoutExp(), rsa.privateKey, 'RS256'), AuthErrorCode.TokenClaims, 'missing-claim')
    })

    it('exp that is not a number → ERR_TOKEN_CLAIMS (invalid-claim)', async () => {
      await rejects(hs, await sign(claims({ exp: '2030-01-02' }), secretBytes(SECRET), 'HS256'), AuthErrorCode.TokenClaims, 'invalid-claim', /exp/)
    })

    it('exp in milliseconds → ERR_TOKEN_CLAIMS (exp-in-milliseconds)', async () => {
      const token = await sign(claims({ exp: NOW + 600_000 }), secretBytes(SECRET), 'HS256')
      await rejects(hs, token, AuthErrorCode.TokenClaims, 'exp-in-milliseconds', /milliseconds/)
    })

    it('nbf in the future → ERR_TOKEN_CLAIMS (not-yet-valid)', async () => {
      const token = await sign(claims({ nbf: NOW_SEC + 120 }), secretBytes(SECRET), 'HS256')
      await rejects(hs, token, AuthErrorCode.TokenClaims, 'not-yet-valid', /2 min from now/)
    })

    it('wrong or missing audience / issuer → ERR_TOKEN_CLAIMS', async () => {
      const verifier = createTokenVerifier({
        key: { kind: 'hs256', secret: SECRET },
        issuer: 'https://idp.example',
        audience: 'posalpro-collab',
        now: clock,
      })
      const good = { iss: 'https://idp.example', aud: 'posalpro-collab' }
      const signWith = (overrides: Record<string, unknown>) => sign(claims(overrides), secretBytes(SECRET), 'HS256')
      await rejects(verifier, await signWith({ ...good, aud: 'billing' }), AuthErrorCode.TokenClaims, 'wrong-audience', /audience "billing" is not accepted; expected "posalpro-collab"/)
      await rejects(verifier, await signWith({ ...good, iss: 'https://evil.example' }), AuthErrorCode.TokenClaims, 'wrong-issuer', /issuer "https:\/\/evil\.example" is not accepted/)
      await rejects(verifier, await signWith({ iss: good.iss }), AuthErrorCode.TokenClaims, 'missing-claim', /"aud".*requires audience/)
      await rejects(verifier, await signWith({ aud: good.aud }), AuthErrorCode.TokenClaims, 'missing-claim', /"iss".*requires issuer/)
    })

    it('missing or invalid identity claims → ERR_TOKEN_CLAIMS', async () => {
      const signWith = (overrides: Record<string, unknown>) => sign(claims(overrides), secretBytes(SECRET), 'HS256')
      await rejects(hs, await signWith({ role: 'superuser' }), AuthErrorCode.TokenClaims, 'invalid-claim', /"role" must be one of viewer, editor, manager, admin \(got "superuser"\)/)
      await rejects(hs, await signWith({ tenant: '' }), AuthErrorCode.TokenClaims, 'invalid-claim', /"tenant"/)
      await rejects(hs, await signWith({ tenant: undefined }), AuthErrorCode.TokenClaims, 'missing-claim', /"tenant"/)
      await rejects(hs, await signWith({ sub: undefined, name: undefined }), AuthErrorCode.TokenClaims, 'missing-claim', /"sub", "name"/)
      await rejects(hs, await signWith({ legal: 'yes' }), AuthErrorCode.TokenClaims, 'invalid-claim', /"legal"/)
    })
  })

  describe('configuration errors fail at creation with ERR_BAD_CONFIG', () => {
    const badConfig = (options: TokenVerifierOptions, pattern: RegExp) =>
      assert.throws(
        () => createTokenVerifier(options),
        (error: unknown) => isCollabError(error) && error.code === ErrorCode.BadConfig && pattern.test(error.message),
      )

    it('HS256 secret shorter than 32 bytes', () => {
      badConfig({ key: { kind: 'hs256', secret: 'short' } }, /5 bytes; at least 32/)
    })

    it('PEM: garbage, a private key, or the wrong key type', async () => {
      badConfig({ key: { kind: 'pem', algorithm: 'RS256', publicKeyPem: 'not a pem' } }, /not a readable PEM/)
      badConfig({ key: { kind: 'pem', algorithm: 'RS256', publicKeyPem: await exportPKCS8(rsa.privateKey) } }, /PRIVATE key/)
      badConfig({ key: { kind: 'pem', algorithm: 'RS256', publicKeyPem: ecPem } }, /RS256 needs an RSA key/)
      badConfig({ key: { kind: 'pem', algorithm: 'ES256', publicKeyPem: rsaPem } }, /ES256 needs an EC P-256 key/)
      const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString()
      badConfig({ key: { kind: 'pem', algorithm: 'RS256', publicKeyPem: weak } }, /1024-bit/)
    })

    it('JWKS file: missing, not JSON, no keys, private keys, no usable key', async () => {
      badConfig({ key: { kind: 'jwks-file', path: path.join(dir, 'nope.json') } }, /cannot read/)
      const write = async (name: string, content: string) => {
        const file = path.join(dir, name)
        await writeFile(file, content)
        return file
      }
      badConfig({ key: { kind: 'jwks-file', path: await write('bad.json', '{') } }, /not JSON/)
      badConfig({ key: { kind: 'jwks-file', path: await write('nokeys.json', '{}') } }, /no "keys" array/)
      const privateJwk = await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey)
      badConfig({ key: { kind: 'jwks-file', path: await write('private.json', JSON.stringify({ keys: [privateJwk] })) } }, /private or secret key material \("d"\)/)
      const octOnly = JSON.stringify({ keys: [{ kty: 'oct', k: base64url.encode(SECRET) }] })
      badConfig({ key: { kind: 'jwks-file', path: await write('oct.json', octOnly) } }, /private or secret/)
      const rs512Only = JSON.stringify({ keys: [{ ...(await exportJWK(rsa.publicKey)), alg: 'RS512' }] })
      badConfig({ key: { kind: 'jwks-file', path: await write('rs512.json', rs512Only) } }, /no RS256 .* or ES256/)
    })

    it('negative clock tolerance', () => {
      badConfig({ key: { kind: 'hs256', secret: SECRET }, clockToleranceSec: -1 }, /clockToleranceSec/)
    })
  })
})

describe('formatDuration', () => {
  it('reads like a person would say it', () => {
    assert.equal(formatDuration(6_000), '6 s')
    assert.equal(formatDuration(250_000), '4 min 10 s')
    assert.equal(formatDuration(3 * 3600_000), '3 h')
    assert.equal(formatDuration(49 * 3600_000), '2 d 1 h')
  })
})

describe('verified tokens are remembered', () => {
  it('the same token verifies again from memory until it expires; an altered copy and a refused token are checked every time', async () => {
    let clock = Date.UTC(2026, 0, 1)
    const verifier = createTokenVerifier({ key: { kind: 'hs256', secret: SECRET }, now: () => clock })
    const exp = Math.floor(clock / 1000) + 60
    const token = await sign({ sub: 'alice', name: 'Alice', tenant: 'acme', role: 'editor', exp }, secretBytes(SECRET), 'HS256')
    const first = await verifier.verify(token)
    assert.equal(await verifier.verify(token), first, 'the remembered identity')
    // A hit needs the very same text: another signature with the same claims is checked.
    const [header, payload] = token.split('.')
    await rejects(verifier, `${header}.${payload}.${base64url.encode(new Uint8Array(32))}`, AuthErrorCode.TokenInvalid, 'bad-signature')
    clock = exp * 1000 + (DEFAULT_CLOCK_TOLERANCE_SEC + 1) * 1000
    await rejects(verifier, token, AuthErrorCode.TokenExpired, 'expired')
  })
})
