import { AuthError, AuthErrorCode } from './authError.ts'
import { describeValue } from './identity.ts'

/**
 * The `amr` values (RFC 8176 authentication method references) that show a second factor: `mfa`
 * itself, or a possession factor — a one-time password (`otp`), a hardware- or software-secured key
 * (`hwk`, `swk`: WebAuthn, passkeys), a smart card (`sc`). Not accepted: knowledge factors (`pwd`,
 * `pin`, `kba`) which are what a password phish gets; `sms` and `tel`, which SIM swaps and
 * forwarding defeat (NIST SP 800-63B restricts them); biometrics alone (`fpt`, `face` …), which
 * unlock a device-held key the provider then reports as `hwk`/`swk`.
 */
export const SECOND_FACTOR_METHODS: readonly string[] = ['mfa', 'otp', 'hwk', 'swk', 'sc']

/** RFC 8176 values are short tokens; more than this many entries is not an `amr` an issuer writes. */
const MAX_AMR_ENTRIES = 32

/** True when a verified token's `amr` claim (an array of strings) names a second factor. */
export const showsSecondFactor = (amr: unknown): boolean =>
  Array.isArray(amr) && amr.length <= MAX_AMR_ENTRIES && amr.some((method) => typeof method === 'string' && SECOND_FACTOR_METHODS.includes(method))

/**
 * Throws ERR_MFA_REQUIRED (401) unless the claims show a second factor. The message says what the
 * token had and what is accepted, so an integrator sees whether the provider sends `amr` at all.
 */
export const requireSecondFactor = (claims: Readonly<Record<string, unknown>>): void => {
  const { amr } = claims
  if (showsSecondFactor(amr)) return
  const accepted = SECOND_FACTOR_METHODS.join(', ')
  const had =
    amr === undefined
      ? 'the token has no "amr" claim'
      : !Array.isArray(amr)
        ? `the token's "amr" claim is ${describeValue(amr, 40)}, not an array (RFC 8176)`
        : `the token's "amr" ${describeValue(amr, 60)} shows no second factor`
  throw new AuthError(AuthErrorCode.MfaRequired, 'mfa-required', `${had}; this server requires multi-factor authentication (amr with one of ${accepted})`)
}
