import { z } from 'zod'
import { ROLES, roleSchema, type Role } from '../../shared/schemas.ts'
import { AuthError, AuthErrorCode, type AuthFailureReason } from './authError.ts'

/** Who a connection belongs to, taken from a verified token. */
export interface Identity {
  /** The token's `sub`. */
  readonly userId: string
  readonly name: string
  /** Storage keys are prefixed with it, so tenants never see each other's documents. */
  readonly tenant: string
  readonly role: Role
  /** May edit the body of `legal: true` content and flip `legal`. */
  readonly legal: boolean
  /** The device the token was issued for, if the issuer says (audit records it). */
  readonly device: string | null
  /** When the token expires, in ms since the epoch (`exp` × 1000). */
  readonly expiresAt: number
}

/**
 * `exp` is a NumericDate: seconds since the epoch. Anything above 1e11 (the year 5138 in seconds,
 * but 1973 in milliseconds) is an issuer that wrote milliseconds — a token that would otherwise
 * never expire.
 */
export const EXP_MILLISECONDS_THRESHOLD = 1e11

/**
 * Tenant ids become storage-key prefixes, so they are restricted to characters that cannot split
 * or escape a key: letters, digits, `.`, `_`, `-`, starting with a letter or digit, at most 64.
 */
export const TENANT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

const CONTROL_CHARACTERS = /\p{Cc}/u
const text = (max: number) =>
  z
    .string()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((value) => !CONTROL_CHARACTERS.test(value), 'must not contain control characters')

/** The claims the server reads. Other claims (iat, iss, aud, jti …) are checked by the verifier or ignored. */
export const claimsSchema = z.object({
  /** User ids from identity providers vary (`auth0|123`, UUIDs, emails): any printable text. */
  sub: text(128),
  name: text(200),
  tenant: z.string().min(1, 'must not be empty').regex(TENANT_PATTERN, 'must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}'),
  role: roleSchema,
  legal: z.boolean().optional(),
  device: text(128).optional(),
  exp: z
    .number()
    .positive('must be a positive NumericDate (seconds since the epoch)')
    .max(EXP_MILLISECONDS_THRESHOLD, 'looks like milliseconds; it must be seconds since the epoch'),
})
export type TokenClaims = z.infer<typeof claimsSchema>

const REQUIRED_CLAIMS = ['sub', 'name', 'tenant', 'role', 'exp'] as const

const ROLE_RANK: Readonly<Record<Role, number>> = Object.fromEntries(ROLES.map((role, rank) => [role, rank])) as Record<
  Role,
  number
>

/** viewer 0 < editor 1 < manager 2 < admin 3. */
export const roleRank = (role: Role): number => ROLE_RANK[role]

/** True when the identity's role is `atLeast` or above. */
export const hasRole = (identity: Pick<Identity, 'role'>, atLeast: Role): boolean =>
  roleRank(identity.role) >= roleRank(atLeast)

/** A short, printable rendering of an untrusted value for an error message. */
export const describeValue = (value: unknown, max = 40): string => {
  const json = JSON.stringify(value) ?? String(value)
  const printable = json.replace(/\p{Cc}/gu, '?')
  return printable.length > max ? `${printable.slice(0, max)}…` : printable
}

const claimsError = (reason: AuthFailureReason, message: string): AuthError =>
  new AuthError(AuthErrorCode.TokenClaims, reason, message)

/**
 * Turns verified JWT claims into an Identity. Throws ERR_TOKEN_CLAIMS naming each bad claim; an
 * `exp` in milliseconds gets its own reason because it is the classic issuer bug.
 */
export const identityFromClaims = (claims: unknown): Identity => {
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    throw claimsError('invalid-claim', 'token claims are not a JSON object')
  }
  const record = claims as Record<string, unknown>
  const missing = REQUIRED_CLAIMS.filter((name) => record[name] === undefined)
  if (missing.length > 0) {
    const list = missing.map((name) => `"${name}"`).join(', ')
    throw claimsError('missing-claim', `token is missing required claim${missing.length > 1 ? 's' : ''} ${list}`)
  }
  const parsed = claimsSchema.safeParse(claims)
  if (!parsed.success) {
    const expTooBig = parsed.error.issues.some((issue) => issue.path[0] === 'exp' && issue.code === 'too_big')
    if (expTooBig) {
      throw claimsError(
        'exp-in-milliseconds',
        `claim "exp" is ${describeValue(record.exp)}, which looks like milliseconds; exp must be in seconds since the epoch`,
      )
    }
    // One problem per claim (an empty tenant also fails the pattern), at most three.
    const firstPerClaim = parsed.error.issues.filter(
      (issue, index, all) => all.findIndex((other) => other.path.join('.') === issue.path.join('.')) === index,
    )
    const problems = firstPerClaim.slice(0, 3).map((issue) => {
      const name = issue.path.map(String).join('.') || '(claims)'
      const message =
        name === 'role'
          ? `must be one of ${ROLES.join(', ')} (got ${describeValue(record.role, 24)})`
          : issue.message.replace(/^Invalid input: /, '')
      return `claim "${name}" ${message}`
    })
    throw claimsError('invalid-claim', `token claims are invalid: ${problems.join('; ')}`)
  }
  const { sub, name, tenant, role, legal, device, exp } = parsed.data
  return {
    userId: sub,
    name,
    tenant,
    role,
    legal: legal ?? false,
    device: device ?? null,
    expiresAt: Math.floor(exp * 1000),
  }
}
