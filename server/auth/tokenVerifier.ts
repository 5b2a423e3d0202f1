import { createHash, createPublicKey, createSecretKey, type JsonWebKey, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWK, type JWTVerifyGetKey } from 'jose'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { AuthError, AuthErrorCode, type AuthFailureReason } from './authError.ts'
import { describeValue, identityFromClaims, type Identity } from './identity.ts'
import { requireSecondFactor } from './mfa.ts'
import { identityOfSignedClaims, withRefusedIdentity } from './refusedIdentity.ts'

/**
 * Where the verification key comes from. Each source pins its algorithms: the token's `alg`
 * header is only ever compared against this list, never used to choose how to verify, so
 * `alg: none` and algorithm confusion (an HS256 token "signed" with the RSA public key) fail.
 */
export type KeySource =
  /** A shared secret of at least 32 bytes (RFC 7518 §3.2); a string is taken as UTF-8. */
  | { readonly kind: 'hs256'; readonly secret: string | Uint8Array }
  /** One public key in PEM (SPKI `BEGIN PUBLIC KEY`, PKCS#1 `BEGIN RSA PUBLIC KEY`, or a certificate). */
  | { readonly kind: 'pem'; readonly algorithm: 'RS256' | 'ES256'; readonly publicKeyPem: string }
  /**
   * A local JSON Web Key Set file (`{"keys": [...]}`), read once when the verifier is created:
   * restart (or create a new verifier) to rotate keys. RSA keys verify RS256, P-256 EC keys ES256;
   * other keys are ignored; a file with private key material is refused.
   */
  | { readonly kind: 'jwks-file'; readonly path: string }

export interface TokenVerifierOptions {
  readonly key: KeySource
  /** Accepted `iss` value(s). When set, a token without `iss` is refused. */
  readonly issuer?: string | readonly string[]
  /** Accepted `aud` value(s). When set, a token without `aud` is refused. */
  readonly audience?: string | readonly string[]
  /**
   * Seconds of clock skew forgiven on `exp` and `nbf`. Default 5: enough for NTP-synced hosts,
   * small enough that an expired token is not honoured noticeably long.
   */
  readonly clockToleranceSec?: number
  /** The clock, ms since the epoch. An option so tests need not sleep. */
  readonly now?: () => number
  /** Refuse tokens whose `amr` shows no second factor (ERR_MFA_REQUIRED; see mfa.ts). */
  readonly requireMfa?: boolean
}

export interface TokenVerifier {
  /** Verifies a compact JWT and returns who it names. Rejects only with AuthError. */
  verify(token: string): Promise<Identity>
  /** The algorithms this verifier accepts, for startup logs. */
  readonly algorithms: readonly string[]
}

export const DEFAULT_CLOCK_TOLERANCE_SEC = 5
/** Tokens are a few hundred bytes; 8 KiB bounds what an attacker makes us base64-decode and parse. */
export const MAX_TOKEN_LENGTH = 8192
const MIN_HS256_SECRET_BYTES = 32
/**
 * Tokens verified recently, by the SHA-256 of their text: a user opens several documents (and
 * reconnects) with one token, and a signature check costs ~0.7 ms of the ~3 ms a new connection
 * costs the server (WebCrypto's HMAC job; RSA more). A hit needs the very same token and is
 * honoured only until the token's own `exp` (plus the clock tolerance); failures are never kept.
 * 10,000 entries of ~300 bytes: ~3 MB at most, the oldest dropped first.
 */
export const VERIFIED_TOKENS_KEPT = 10_000
const MIN_RSA_MODULUS_BITS = 2048

const badConfig = (message: string): CollabError => new CollabError(ErrorCode.BadConfig, message)
const invalid = (reason: AuthFailureReason, message: string): AuthError =>
  new AuthError(AuthErrorCode.TokenInvalid, reason, message)
const claims = (reason: AuthFailureReason, message: string): AuthError =>
  new AuthError(AuthErrorCode.TokenClaims, reason, message)

interface PreparedKey {
  readonly key: Uint8Array | KeyObject | JWTVerifyGetKey
  readonly algorithms: readonly ('HS256' | 'RS256' | 'ES256')[]
  readonly describe: string
}

const checkPublicKey = (key: KeyObject, algorithm: 'RS256' | 'ES256', where: string): void => {
  if (algorithm === 'RS256') {
    if (key.asymmetricKeyType !== 'rsa') throw badConfig(`${where} is a ${key.asymmetricKeyType} key; RS256 needs an RSA key`)
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
    if (bits < MIN_RSA_MODULUS_BITS) throw badConfig(`${where} is a ${bits}-bit RSA key; RS256 needs at least ${MIN_RSA_MODULUS_BITS} bits`)
  } else {
    const curve = key.asymmetricKeyDetails?.namedCurve
    if (key.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
      throw badConfig(`${where} is a ${key.asymmetricKeyType}${curve ? ` ${curve}` : ''} key; ES256 needs an EC P-256 key`)
    }
  }
}

const prepareHs256 = (secret: string | Uint8Array): PreparedKey => {
  const bytes = typeof secret === 'string' ? new TextEncoder().encode(secret) : Uint8Array.from(secret)
  if (bytes.length < MIN_HS256_SECRET_BYTES) {
    throw badConfig(`the HS256 secret is ${bytes.length} bytes; at least ${MIN_HS256_SECRET_BYTES} are required`)
  }
  // A KeyObject, not the bytes: jose imports raw bytes into a CryptoKey at every verification
  // (~10 KB of allocations per connection), a KeyObject once (it caches the CryptoKey per key).
  return { key: createSecretKey(bytes), algorithms: ['HS256'], describe: 'HS256 shared secret' }
}

const preparePem = (algorithm: 'RS256' | 'ES256', pem: string): PreparedKey => {
  if (algorithm !== 'RS256' && algorithm !== 'ES256') throw badConfig(`unsupported PEM key algorithm ${describeValue(algorithm)}; use RS256 or ES256`)
  if (/PRIVATE KEY-----/.test(pem)) {
    throw badConfig('publicKeyPem holds a PRIVATE key; give the server only the public key (openssl pkey -pubout)')
  }
  let key: KeyObject
  try {
    key = createPublicKey({ key: pem, format: 'pem' })
  } catch (error) {
    throw badConfig(`publicKeyPem is not a readable PEM public key (${(error as Error).message})`)
  }
  checkPublicKey(key, algorithm, 'publicKeyPem')
  return { key, algorithms: [algorithm], describe: `${algorithm} public key` }
}

const algorithmForJwk = (jwk: JWK): 'RS256' | 'ES256' | null => {
  if (jwk.use !== undefined && jwk.use !== 'sig') return null
  if (jwk.kty === 'RSA' && (jwk.alg === undefined || jwk.alg === 'RS256')) return 'RS256'
  if (jwk.kty === 'EC' && jwk.crv === 'P-256' && (jwk.alg === undefined || jwk.alg === 'ES256')) return 'ES256'
  return null
}

const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'priv'] as const

const prepareJwksFile = (path: string): PreparedKey => {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw badConfig(`cannot read the JWKS file ${path}: ${(error as Error).message}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw badConfig(`the JWKS file ${path} is not JSON: ${(error as Error).message}`)
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys
  if (!Array.isArray(keys)) throw badConfig(`the JWKS file ${path} has no "keys" array`)
  const usable: JWK[] = []
  const algorithms = new Set<'RS256' | 'ES256'>()
  keys.forEach((entry: unknown, index) => {
    if (typeof entry !== 'object' || entry === null) throw badConfig(`key #${index} in ${path} is not an object`)
    const jwk = entry as JWK
    const secretMember = PRIVATE_JWK_MEMBERS.find((member) => member in jwk)
    if (secretMember) {
      throw badConfig(`key #${index} in ${path} holds private or secret key material ("${secretMember}"); a JWKS for verification must hold public keys only`)
    }
    const algorithm = algorithmForJwk(jwk)
    if (!algorithm) return
    let keyObject: KeyObject
    try {
      keyObject = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' })
    } catch (error) {
      throw badConfig(`key #${index} in ${path} is not a valid ${jwk.kty} public key (${(error as Error).message})`)
    }
    checkPublicKey(keyObject, algorithm, `key #${index} in ${path}`)
    usable.push(jwk)
    algorithms.add(algorithm)
  })
  if (usable.length === 0) throw badConfig(`the JWKS file ${path} holds no RS256 (RSA) or ES256 (EC P-256) signing key`)
  let keySet: JWTVerifyGetKey
  try {
    keySet = createLocalJWKSet({ keys: usable } as JSONWebKeySet)
  } catch (error) {
    throw badConfig(`the JWKS file ${path} is invalid: ${(error as Error).message}`)
  }
  return { key: keySet, algorithms: [...algorithms].sort(), describe: `key set ${path}` }
}

const prepareKey = (source: KeySource): PreparedKey => {
  switch (source.kind) {
    case 'hs256':
      return prepareHs256(source.secret)
    case 'pem':
      return preparePem(source.algorithm, source.publicKeyPem)
    case 'jwks-file':
      return prepareJwksFile(source.path)
    default:
      throw badConfig(`unknown key source ${describeValue((source as { kind?: unknown }).kind)}`)
  }
}

/** "6 s", "4 min 10 s", "3 h 5 min", "2 d 1 h". */
export const formatDuration = (ms: number): string => {
  const seconds = Math.max(0, Math.round(ms / 1000))
  if (seconds < 60) return `${seconds} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min${seconds % 60 ? ` ${seconds % 60} s` : ''}`
  const hours = Math.floor(minutes / 60)
  if (hours < 24) return `${hours} h${minutes % 60 ? ` ${minutes % 60} min` : ''}`
  const days = Math.floor(hours / 24)
  return `${days} d${hours % 24 ? ` ${hours % 24} h` : ''}`
}

const isoOrRaw = (seconds: unknown): string => {
  if (typeof seconds !== 'number') return describeValue(seconds)
  const date = new Date(seconds * 1000)
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString()
}

const list = (values: string | readonly string[]): string =>
  (typeof values === 'string' ? [values] : values).map((value) => describeValue(value, 80)).join(' or ')

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/**
 * Creates a verifier. Reads and checks the key now, so a bad key or key file fails at startup
 * (ERR_BAD_CONFIG) rather than on the first connection.
 */
export const createTokenVerifier = (options: TokenVerifierOptions): TokenVerifier => {
  const prepared = prepareKey(options.key)
  const algorithms = prepared.algorithms
  const tolerance = options.clockToleranceSec ?? DEFAULT_CLOCK_TOLERANCE_SEC
  if (!Number.isFinite(tolerance) || tolerance < 0) throw badConfig(`clockToleranceSec must be a non-negative number, got ${tolerance}`)
  const now = options.now ?? Date.now
  const issuer = options.issuer === undefined ? undefined : typeof options.issuer === 'string' ? options.issuer : [...options.issuer]
  const audience = options.audience === undefined ? undefined : typeof options.audience === 'string' ? options.audience : [...options.audience]
  const accepted = algorithms.join('/')

  /** Cheap checks before any crypto, with clearer messages than the library's. */
  const checkShape = (token: string): void => {
    if (token.length > MAX_TOKEN_LENGTH) throw invalid('malformed', `token is ${token.length} characters; the limit is ${MAX_TOKEN_LENGTH}`)
    const parts = token.split('.').length
    if (parts === 5) throw invalid('malformed', 'encrypted tokens (JWE) are not accepted; send a signed JWT (JWS)')
    if (parts !== 3 || !COMPACT_JWS.test(token)) {
      throw invalid('malformed', 'token is not a JWT: expected three base64url parts separated by dots')
    }
    let header: Record<string, unknown>
    try {
      header = decodeProtectedHeader(token) as Record<string, unknown>
    } catch {
      throw invalid('malformed', 'token header is not base64url-encoded JSON')
    }
    const alg = header.alg
    if (typeof alg !== 'string') throw invalid('malformed', 'token header has no "alg"')
    if (alg.toLowerCase() === 'none') throw invalid('unsupported-alg', `unsigned tokens (alg "none") are never accepted; this server accepts ${accepted}`)
    if (!(algorithms as readonly string[]).includes(alg)) {
      throw invalid('unsupported-alg', `token algorithm ${describeValue(alg, 20)} is not accepted; this server accepts ${accepted}`)
    }
  }

  const translate = (error: unknown, token: string, at: number): AuthError => {
    const code = (error as { code?: unknown } | null)?.code
    const payload = ((error as { payload?: unknown }).payload ?? {}) as Record<string, unknown>
    const claim = (error as { claim?: unknown }).claim
    switch (code) {
      case 'ERR_JWT_EXPIRED': {
        const exp = payload.exp as number
        const expired = new AuthError(
          AuthErrorCode.TokenExpired,
          'expired',
          `token expired ${formatDuration(at - exp * 1000)} ago (exp ${isoOrRaw(exp)}; clock tolerance ${tolerance} s)`,
        )
        // jose checks the signature before the claims: an expired token's claims are the issuer's.
        const signed = identityOfSignedClaims(payload)
        return signed ? withRefusedIdentity(expired, signed) : expired
      }
      case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
        const reason = (error as { reason?: unknown }).reason
        const name = typeof claim === 'string' ? claim : '?'
        if (reason === 'missing') {
          if (name === 'exp') return claims('missing-claim', 'token has no "exp" claim; tokens must expire')
          if (name === 'iss' && issuer !== undefined) return claims('missing-claim', `token has no "iss" claim; this server requires issuer ${list(issuer)}`)
          if (name === 'aud' && audience !== undefined) return claims('missing-claim', `token has no "aud" claim; this server requires audience ${list(audience)}`)
          return claims('missing-claim', `token has no ${describeValue(name)} claim`)
        }
        if (name === 'iss' && issuer !== undefined) {
          return claims('wrong-issuer', `token issuer ${describeValue(payload.iss, 80)} is not accepted; expected ${list(issuer)}`)
        }
        if (name === 'aud' && audience !== undefined) {
          return claims('wrong-audience', `token audience ${describeValue(payload.aud, 80)} is not accepted; expected ${list(audience)}`)
        }
        if (name === 'nbf' && reason !== 'invalid' && typeof payload.nbf === 'number') {
          return claims('not-yet-valid', `token is not valid before ${isoOrRaw(payload.nbf)} (${formatDuration(payload.nbf * 1000 - at)} from now)`)
        }
        return claims('invalid-claim', `claim ${describeValue(name)} is invalid: ${(error as Error).message}`)
      }
      case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
        return invalid('bad-signature', `bad signature: the token was not signed by the configured ${prepared.describe}, or it was altered`)
      case 'ERR_JOSE_ALG_NOT_ALLOWED':
        return invalid('unsupported-alg', `token algorithm is not accepted; this server accepts ${accepted}`)
      case 'ERR_JWKS_NO_MATCHING_KEY': {
        let header: Record<string, unknown> = {}
        try {
          header = decodeProtectedHeader(token) as Record<string, unknown>
        } catch {
          // checkShape already decoded it; nothing more to say.
        }
        const kid = header.kid === undefined ? 'no kid' : `kid ${describeValue(header.kid)}`
        return invalid('no-matching-key', `no key in the ${prepared.describe} matches the token (${kid}, alg ${describeValue(header.alg, 20)})`)
      }
      case 'ERR_JWS_INVALID':
      case 'ERR_JWT_INVALID':
      case 'ERR_JOSE_NOT_SUPPORTED':
        return invalid('malformed', `token is malformed: ${(error as Error).message}`)
      default:
        return invalid('unverifiable', `token could not be verified: ${error instanceof Error ? error.message : String(error)}`)
    }
  }

  const verified = new Map<string, Identity>()
  const remembered = (token: string, at: number): { key: string; identity: Identity | null } => {
    const key = createHash('sha256').update(token).digest('base64')
    const identity = verified.get(key) ?? null
    if (identity === null) return { key, identity }
    if (at < identity.expiresAt + tolerance * 1000) return { key, identity }
    verified.delete(key) // expired: verified again below, which says so
    return { key, identity: null }
  }
  const remember = (key: string, identity: Identity): void => {
    if (verified.size >= VERIFIED_TOKENS_KEPT) verified.delete(verified.keys().next().value!)
    verified.set(key, identity)
  }

  const verify = async (token: string): Promise<Identity> => {
    if (typeof token === 'string' && token.length <= MAX_TOKEN_LENGTH) {
      const { key, identity } = remembered(token, now())
      if (identity) return identity
      const fresh = await verifyOnce(token)
      remember(key, fresh)
      return fresh
    }
    return verifyOnce(token)
  }

  const verifyOnce = async (token: string): Promise<Identity> => {
    if (typeof token !== 'string' || token.trim() === '') {
      throw new AuthError(
        AuthErrorCode.TokenMissing,
        'missing',
        'no token: send one in the "token" query parameter or as a "bearer.<jwt>" Sec-WebSocket-Protocol entry',
      )
    }
    checkShape(token)
    const at = now()
    let payload: unknown
    try {
      const result = await jwtVerify(token, prepared.key, {
        algorithms: [...algorithms],
        requiredClaims: ['exp'],
        clockTolerance: tolerance,
        currentDate: new Date(at),
        ...(issuer === undefined ? {} : { issuer }),
        ...(audience === undefined ? {} : { audience }),
      })
      payload = result.payload
    } catch (error) {
      throw translate(error, token, at)
    }
    const identity = identityFromClaims(payload)
    // After the claims: a token that is bad anyway says so first, and only a valid one is told
    // that it lacks a second factor.
    if (options.requireMfa) {
      try {
        requireSecondFactor(payload as Record<string, unknown>)
      } catch (error) {
        throw withRefusedIdentity(error as AuthError, identity)
      }
    }
    return identity
  }

  return { verify, algorithms }
}
