import { randomBytes } from 'node:crypto'
import { chmod, link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises'
import path from 'node:path'
import { SignJWT, base64url } from 'jose'
import { z } from 'zod'
import { ROLES, roleSchema, type Role } from '../../shared/schemas.ts'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { AuthError, AuthErrorCode } from './authError.ts'
import { TENANT_PATTERN, describeValue, type Identity } from './identity.ts'
import type { TokenVerifierOptions } from './tokenVerifier.ts'

/**
 * Zero-config dev mode: the server makes its own HS256 secret and hands out tokens for any user
 * at `GET /dev/token`. Anyone who can reach that route can become admin of any tenant, so it
 * must only exist when dev mode is explicitly on.
 */

export const DEV_SECRET_FILE = 'dev-secret'
const DEV_SECRET_BYTES = 32
/** Dev tokens name this issuer, and the dev verifier requires it. */
export const DEV_TOKEN_ISSUER = 'posalpro-collab/dev'
/** An hour: long enough for a demo session, short enough that expiry handling gets exercised. */
export const DEV_TOKEN_DEFAULT_TTL_SECONDS = 3600
export const DEV_TOKEN_MAX_TTL_SECONDS = 7 * 24 * 3600

export const USER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/
export const DEVICE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/
/** An RFC 8176 method reference as issuers write them (`pwd`, `otp`, `hwk` …). */
export const AMR_PATTERN = /^[a-z0-9]{1,16}$/
const MAX_DEV_AMR = 8

export interface DevSecret {
  readonly secret: Uint8Array
  /** `<dataDir>/dev-secret`. */
  readonly path: string
  /** True when this call made the secret (worth a log line: earlier dev tokens stop working). */
  readonly created: boolean
}

const corruptSecret = (file: string): CollabError =>
  new CollabError(
    ErrorCode.BadConfig,
    `${file} does not hold a ${DEV_SECRET_BYTES}-byte base64url secret; delete it to create a new one (dev tokens issued before stop working)`,
  )

const readSecret = async (file: string): Promise<Uint8Array> => {
  const text = (await readFile(file, 'utf8')).trim()
  let secret: Uint8Array
  try {
    secret = base64url.decode(text)
  } catch {
    throw corruptSecret(file)
  }
  if (secret.length !== DEV_SECRET_BYTES || base64url.encode(secret) !== text) throw corruptSecret(file)
  if (process.platform !== 'win32') {
    const { mode } = await stat(file)
    // Someone loosened it (or copied it with a umask): a secret readable by others is no secret.
    if ((mode & 0o077) !== 0) await chmod(file, 0o600)
  }
  return secret
}

const isErrno = (error: unknown, code: string): boolean => (error as NodeJS.ErrnoException | null)?.code === code

/**
 * Returns the dev HS256 secret, creating `<dataDir>/dev-secret` (32 random bytes, base64url,
 * mode 0600) on first start and reusing it afterwards, so dev tokens survive restarts. The file
 * appears atomically (written aside, then hard-linked into place), so two processes starting at
 * once agree on one secret and a crash never leaves a half-written one.
 */
export const loadOrCreateDevSecret = async (dataDir: string): Promise<DevSecret> => {
  const file = path.join(path.resolve(dataDir), DEV_SECRET_FILE)
  try {
    return { secret: await readSecret(file), path: file, created: false }
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw error
  }
  await mkdir(path.dirname(file), { recursive: true })
  const secret = new Uint8Array(randomBytes(DEV_SECRET_BYTES))
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  const handle = await open(temporary, 'wx', 0o600)
  try {
    await handle.writeFile(`${base64url.encode(secret)}\n`, 'utf8')
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await link(temporary, file)
  } catch (error) {
    if (isErrno(error, 'EEXIST')) return { secret: await readSecret(file), path: file, created: false }
    throw error
  } finally {
    await unlink(temporary).catch(() => {})
  }
  return { secret, path: file, created: true }
}

/** Verifier options that accept exactly the tokens `issueDevToken` makes with this secret. */
export const devVerifierOptions = (secret: Uint8Array): TokenVerifierOptions => ({
  key: { kind: 'hs256', secret },
  issuer: DEV_TOKEN_ISSUER,
})

export interface DevTokenOptions {
  readonly user: string
  readonly role: Role
  readonly tenant: string
  /** Display name; defaults to `user`. */
  readonly name?: string
  readonly legal?: boolean
  readonly device?: string
  /**
   * The token's `amr` (RFC 8176), e.g. `['pwd', 'otp']`: what a provider writes after a second
   * factor, so a dev-mode demo passes `--require-mfa`. No claim when absent.
   */
  readonly amr?: readonly string[]
  /** Default one hour, at most seven days. */
  readonly ttlSeconds?: number
}

export interface DevToken {
  readonly token: string
  /** What the server will see when it verifies the token. */
  readonly identity: Identity
}

const devTokenOptionsSchema = z.object({
  user: z.string().regex(USER_ID_PATTERN, 'must be 1–64 letters, digits or . _ @ -, starting with a letter or digit'),
  role: z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` }),
  tenant: z.string().regex(TENANT_PATTERN, 'must be 1–64 letters, digits or . _ -, starting with a letter or digit'),
  name: z
    .string()
    .min(1, 'must not be empty')
    .max(200, 'must be at most 200 characters')
    .refine((value) => !/\p{Cc}/u.test(value), 'must not contain control characters')
    .optional(),
  legal: z.boolean({ error: 'must be true or false' }).optional(),
  device: z.string().regex(DEVICE_PATTERN, 'must be 1–64 letters, digits or . _ : -, starting with a letter or digit').optional(),
  amr: z
    .array(z.string().regex(AMR_PATTERN, 'must be lower-case method names such as pwd, otp, hwk (RFC 8176)'), { error: 'must be a list of method names' })
    .min(1, 'must name at least one method')
    .max(MAX_DEV_AMR, `must name at most ${MAX_DEV_AMR} methods`)
    .optional(),
  ttlSeconds: z
    .number({ error: 'must be a number of seconds' })
    .int('must be a whole number of seconds')
    .min(1, 'must be at least 1 second')
    .max(DEV_TOKEN_MAX_TTL_SECONDS, `must be at most ${DEV_TOKEN_MAX_TTL_SECONDS} seconds (7 days)`)
    .optional(),
})

const requestError = (message: string): AuthError => new AuthError(AuthErrorCode.DevTokenRequest, 'bad-request', message)

const FIELD_LABEL: Record<string, string> = { ttlSeconds: 'ttl' }

const validateDevTokenOptions = (options: unknown): z.infer<typeof devTokenOptionsSchema> => {
  const parsed = devTokenOptionsSchema.safeParse(options)
  if (parsed.success) return parsed.data
  const record = (typeof options === 'object' && options !== null ? options : {}) as Record<string, unknown>
  const firstPerField = parsed.error.issues.filter(
    (issue, index, all) => all.findIndex((other) => other.path[0] === issue.path[0]) === index,
  )
  const problems = firstPerField.slice(0, 4).map((issue) => {
    const field = String(issue.path[0] ?? 'options')
    const value = record[field]
    const message = value === undefined && issue.code === 'invalid_type' ? 'is required' : issue.message
    const got = value === undefined || issue.code === 'invalid_type' ? '' : ` (got ${describeValue(value, 24)})`
    return `${FIELD_LABEL[field] ?? field} ${message}${got}`
  })
  throw requestError(`bad dev token request: ${problems.join('; ')}`)
}

/**
 * Signs a dev token (HS256, issuer `posalpro-collab/dev`, `exp` in seconds). Throws
 * ERR_DEV_TOKEN_REQUEST for bad options and ERR_BAD_CONFIG for a secret under 32 bytes.
 */
export const issueDevToken = async (
  secret: Uint8Array | string,
  options: DevTokenOptions,
  now: () => number = Date.now,
): Promise<DevToken> => {
  const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret
  if (key.length < DEV_SECRET_BYTES) {
    throw new CollabError(ErrorCode.BadConfig, `the dev secret is ${key.length} bytes; at least ${DEV_SECRET_BYTES} are required`)
  }
  const valid = validateDevTokenOptions(options)
  const issuedAt = Math.floor(now() / 1000)
  const exp = issuedAt + (valid.ttlSeconds ?? DEV_TOKEN_DEFAULT_TTL_SECONDS)
  const identity: Identity = {
    userId: valid.user,
    name: valid.name ?? valid.user,
    tenant: valid.tenant,
    role: valid.role,
    legal: valid.legal ?? false,
    device: valid.device ?? null,
    expiresAt: exp * 1000,
  }
  const token = await new SignJWT({
    name: identity.name,
    tenant: identity.tenant,
    role: identity.role,
    ...(identity.legal ? { legal: true } : {}),
    ...(identity.device === null ? {} : { device: identity.device }),
    ...(valid.amr === undefined ? {} : { amr: [...valid.amr] }),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(identity.userId)
    .setIssuer(DEV_TOKEN_ISSUER)
    .setIssuedAt(issuedAt)
    .setExpirationTime(exp)
    .sign(key)
  return { token, identity }
}

const QUERY_FIELDS = ['user', 'role', 'tenant', 'name', 'legal', 'device', 'amr', 'ttl'] as const

/**
 * Parses `GET /dev/token?user=alice&role=editor&tenant=acme[&name=Alice][&legal=true]
 * [&device=laptop-1][&amr=pwd,otp][&ttl=3600]` into options for `issueDevToken`. Throws ERR_DEV_TOKEN_REQUEST
 * (answer 400) for a missing, repeated, unknown or malformed parameter — unknown ones included,
 * so a typo like `rol=admin` is an error rather than a silently different token.
 */
export const devTokenRequest = (url: URL): DevTokenOptions => {
  const problems: string[] = []
  const names = [...new Set(url.searchParams.keys())]
  const unknown = names.filter((name) => !(QUERY_FIELDS as readonly string[]).includes(name))
  if (unknown.length > 0) {
    problems.push(`unknown parameter${unknown.length > 1 ? 's' : ''} ${unknown.map((name) => describeValue(name, 24)).join(', ')} (allowed: ${QUERY_FIELDS.join(', ')})`)
  }
  const repeated = names.filter((name) => url.searchParams.getAll(name).length > 1)
  if (repeated.length > 0) problems.push(`parameter${repeated.length > 1 ? 's' : ''} ${repeated.join(', ')} given more than once`)
  const missing = (['user', 'role', 'tenant'] as const).filter((name) => !url.searchParams.has(name))
  if (missing.length > 0) problems.push(`missing ${missing.join(', ')}`)

  const options: Record<string, unknown> = {}
  for (const field of ['user', 'role', 'tenant', 'name', 'device'] as const) {
    const value = url.searchParams.get(field)
    if (value !== null) options[field] = value
  }
  const legal = url.searchParams.get('legal')
  if (legal !== null) {
    if (legal === 'true' || legal === '1') options.legal = true
    else if (legal === 'false' || legal === '0') options.legal = false
    else problems.push(`legal must be true or false (got ${describeValue(legal, 24)})`)
  }
  const amr = url.searchParams.get('amr')
  if (amr !== null) options.amr = amr.split(',')
  const ttl = url.searchParams.get('ttl')
  if (ttl !== null) {
    if (/^\d{1,9}$/.test(ttl)) options.ttlSeconds = Number(ttl)
    else problems.push(`ttl must be a whole number of seconds (got ${describeValue(ttl, 24)})`)
  }
  if (problems.length > 0) throw requestError(`bad dev token request: ${problems.join('; ')}`)
  return validateDevTokenOptions(options)
}
