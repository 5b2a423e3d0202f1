import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ROLES } from '../../shared/schemas.ts'
import { AuthError, AuthErrorCode, type AuthFailureReason } from './authError.ts'
import { claimsSchema, hasRole, identityFromClaims, roleRank } from './identity.ts'

const EXP = 1_900_000_000
const valid = { sub: 'auth0|42', name: 'Bob', tenant: 'acme-eu.1', role: 'manager', exp: EXP }

const claimsError = (claims: unknown, reason: AuthFailureReason, pattern: RegExp): void => {
  assert.throws(
    () => identityFromClaims(claims),
    (error: unknown) => {
      assert.ok(error instanceof AuthError, 'error instanceof AuthError')
      assert.equal(error.code, AuthErrorCode.TokenClaims)
      assert.equal(error.reason, reason, error.message)
      assert.match(error.message, pattern)
      return true
    },
  )
}

describe('roles', () => {
  it('rank in design order viewer < editor < manager < admin', () => {
    assert.deepEqual(ROLES.map(roleRank), [0, 1, 2, 3])
  })
  it('hasRole means "at least"', () => {
    assert.equal(hasRole({ role: 'manager' }, 'editor'), true)
    assert.equal(hasRole({ role: 'manager' }, 'manager'), true)
    assert.equal(hasRole({ role: 'manager' }, 'admin'), false)
    assert.equal(hasRole({ role: 'viewer' }, 'viewer'), true)
    assert.equal(hasRole({ role: 'admin' }, 'viewer'), true)
  })
})

describe('identityFromClaims', () => {
  it('maps claims to an Identity, defaulting legal and device, exp to ms', () => {
    assert.deepEqual(identityFromClaims({ ...valid, iat: EXP - 60, iss: 'x', extra: [1] }), {
      userId: 'auth0|42',
      name: 'Bob',
      tenant: 'acme-eu.1',
      role: 'manager',
      legal: false,
      device: null,
      expiresAt: EXP * 1000,
    })
    const full = identityFromClaims({ ...valid, legal: true, device: 'desktop-3' })
    assert.equal(full.legal, true)
    assert.equal(full.device, 'desktop-3')
  })

  it('refuses claims that are not an object', () => {
    claimsError(null, 'invalid-claim', /not a JSON object/)
    claimsError(['a'], 'invalid-claim', /not a JSON object/)
  })

  it('names every missing required claim', () => {
    claimsError({ role: 'viewer' }, 'missing-claim', /"sub", "name", "tenant", "exp"/)
  })

  it('refuses an unknown role, saying which roles exist', () => {
    claimsError({ ...valid, role: 'superuser' }, 'invalid-claim', /"role" must be one of viewer, editor, manager, admin \(got "superuser"\)/)
    claimsError({ ...valid, role: 'Admin' }, 'invalid-claim', /"role"/)
  })

  it('refuses empty, overlong, or key-unsafe tenants', () => {
    claimsError({ ...valid, tenant: '' }, 'invalid-claim', /"tenant" must not be empty/)
    claimsError({ ...valid, tenant: 'acme/other' }, 'invalid-claim', /"tenant" must match/)
    claimsError({ ...valid, tenant: '..' }, 'invalid-claim', /"tenant"/)
    claimsError({ ...valid, tenant: 'a'.repeat(65) }, 'invalid-claim', /"tenant"/)
    assert.equal(identityFromClaims({ ...valid, tenant: 'a'.repeat(64) }).tenant.length, 64)
  })

  it('refuses empty, overlong or control-character sub and name', () => {
    claimsError({ ...valid, sub: '' }, 'invalid-claim', /"sub" must not be empty/)
    claimsError({ ...valid, sub: 'x'.repeat(129) }, 'invalid-claim', /"sub" must be at most 128/)
    claimsError({ ...valid, name: 'Bob\nAdmin' }, 'invalid-claim', /"name" must not contain control characters/)
    claimsError({ ...valid, name: 42 }, 'invalid-claim', /"name" expected string/)
  })

  it('refuses non-boolean legal and empty device', () => {
    claimsError({ ...valid, legal: 'true' }, 'invalid-claim', /"legal"/)
    claimsError({ ...valid, device: '' }, 'invalid-claim', /"device"/)
  })

  it('refuses exp in milliseconds with its own reason', () => {
    claimsError({ ...valid, exp: EXP * 1000 }, 'exp-in-milliseconds', /"exp" is 1900000000000, which looks like milliseconds/)
  })

  it('refuses a non-positive or non-numeric exp', () => {
    claimsError({ ...valid, exp: 0 }, 'invalid-claim', /"exp"/)
    claimsError({ ...valid, exp: '1900000000' }, 'invalid-claim', /"exp"/)
  })

  it('the schema alone also rejects exp in milliseconds', () => {
    assert.equal(claimsSchema.safeParse({ ...valid, exp: EXP * 1000 }).success, false)
    assert.equal(claimsSchema.safeParse(valid).success, true)
  })
})
