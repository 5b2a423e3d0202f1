import { z } from 'zod'
import { roleSchema } from '../../shared/schemas.ts'
import { TENANT_PATTERN } from './identity.ts'

/**
 * Who a refused request was, when its token's signature was verified before it was refused (an
 * expired token, one without a second factor, a device that is not the certificate's): the access
 * audit records the refusal under that user. Never taken from a token whose signature did not
 * verify — anyone can write any name into one.
 */
export interface RefusedIdentity {
  readonly tenant: string
  readonly userId: string
  readonly role: string
  readonly device: string | null
}

const known = new WeakMap<object, RefusedIdentity>()

/** Marks `error` as refusing the (signature-verified) identity; returns it for `throw`. */
export const withRefusedIdentity = <E extends object>(error: E, identity: RefusedIdentity): E => {
  known.set(error, { tenant: identity.tenant, userId: identity.userId, role: identity.role, device: identity.device })
  return error
}

export const refusedIdentityOf = (error: unknown): RefusedIdentity | null => (typeof error === 'object' && error !== null ? (known.get(error) ?? null) : null)

const signedClaims = z.object({
  sub: z.string().min(1).max(128),
  tenant: z.string().regex(TENANT_PATTERN),
  role: roleSchema,
  device: z.string().max(128).optional(),
})

/** The identity in verified claims that were refused anyway (expired …), or null when they do not name one. */
export const identityOfSignedClaims = (payload: unknown): RefusedIdentity | null => {
  const parsed = signedClaims.safeParse(payload)
  return parsed.success ? { tenant: parsed.data.tenant, userId: parsed.data.sub, role: parsed.data.role, device: parsed.data.device ?? null } : null
}
