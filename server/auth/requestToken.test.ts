import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { IncomingHttpHeaders } from 'node:http'
import { AuthError, AuthErrorCode } from './authError.ts'
import { COLLAB_SUBPROTOCOL, redactTokenInUrl, selectSubprotocol, tokenFromRequest } from './requestToken.ts'

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl'
const OTHER = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJiIn0.b3RoZXJzaWc'
const url = (query = '') => new URL(`http://localhost:1234/proposal/p1${query}`)
const protocols = (value: string): IncomingHttpHeaders => ({ 'sec-websocket-protocol': value })

describe('tokenFromRequest', () => {
  it('reads the token query parameter (y-websocket params)', () => {
    assert.equal(tokenFromRequest(url(`?ext=1&token=${JWT}`), {}), JWT)
  })

  it('reads a bearer.<jwt> Sec-WebSocket-Protocol entry', () => {
    assert.equal(tokenFromRequest(url(), protocols(`${COLLAB_SUBPROTOCOL}, bearer.${JWT}`)), JWT)
    assert.equal(tokenFromRequest(url(), protocols(`bearer.${JWT}`)), JWT)
    assert.equal(tokenFromRequest(url(), { 'sec-websocket-protocol': [`foo`, ` bearer.${JWT} `] as unknown as string }), JWT)
  })

  it('returns null when there is no token', () => {
    assert.equal(tokenFromRequest(url(), {}), null)
    assert.equal(tokenFromRequest(url('?token='), {}), null)
    assert.equal(tokenFromRequest(url(), protocols(`${COLLAB_SUBPROTOCOL}, bearer.`)), null)
    assert.equal(tokenFromRequest(url(), protocols('chat, superchat')), null)
  })

  it('accepts the same token in both places', () => {
    assert.equal(tokenFromRequest(url(`?token=${JWT}`), protocols(`bearer.${JWT}`)), JWT)
  })

  it('refuses two different tokens', () => {
    const ambiguous = (error: unknown) =>
      error instanceof AuthError &&
      (error.code as string) === AuthErrorCode.TokenInvalid &&
      error.reason === 'ambiguous' &&
      !error.message.includes(JWT) &&
      !error.message.includes(OTHER)
    assert.throws(() => tokenFromRequest(url(`?token=${JWT}`), protocols(`bearer.${OTHER}`)), ambiguous)
    assert.throws(() => tokenFromRequest(url(`?token=${JWT}&token=${OTHER}`), {}), ambiguous)
    assert.throws(() => tokenFromRequest(url(), protocols(`bearer.${JWT}, bearer.${OTHER}`)), ambiguous)
  })
})

describe('selectSubprotocol', () => {
  it('answers posalpro-collab and never a token entry', () => {
    assert.equal(selectSubprotocol(new Set([`bearer.${JWT}`, COLLAB_SUBPROTOCOL])), COLLAB_SUBPROTOCOL)
    assert.equal(selectSubprotocol(new Set([`bearer.${JWT}`])), false)
    assert.equal(selectSubprotocol(new Set([`bearer.${JWT}`, 'other'])), 'other')
    assert.equal(selectSubprotocol(new Set()), false)
  })
})

describe('redactTokenInUrl', () => {
  it('replaces every token value and keeps the rest', () => {
    const redacted = redactTokenInUrl(url(`?ext=1&token=${JWT}`))
    assert.equal(redacted, '/proposal/p1?ext=1&token=REDACTED')
    assert.equal(redactTokenInUrl(url('?ext=1')), '/proposal/p1?ext=1')
  })
})
