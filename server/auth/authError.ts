import { CollabError, ErrorCode } from '../../shared/errors.ts'

/** The identity error codes; they live in shared/errors.ts with every other code. */
export const AuthErrorCode = {
  TokenMissing: ErrorCode.TokenMissing,
  TokenInvalid: ErrorCode.TokenInvalid,
  TokenExpired: ErrorCode.TokenExpired,
  TokenClaims: ErrorCode.TokenClaims,
  DevTokenRequest: ErrorCode.DevTokenRequest,
  MfaRequired: ErrorCode.MfaRequired,
} as const
export type AuthErrorCode = (typeof AuthErrorCode)[keyof typeof AuthErrorCode]

/** Finer than the code, for tests, logs and metrics. The code is the contract; this is detail. */
export type AuthFailureReason =
  | 'missing'
  | 'ambiguous'
  | 'malformed'
  | 'unsupported-alg'
  | 'no-matching-key'
  | 'bad-signature'
  | 'unverifiable'
  | 'expired'
  | 'not-yet-valid'
  | 'missing-claim'
  | 'invalid-claim'
  | 'exp-in-milliseconds'
  | 'wrong-issuer'
  | 'wrong-audience'
  | 'bad-request'
  | 'mfa-required'

/**
 * An identity failure. Messages say what is wrong (which claim, expired how long ago, which
 * algorithm) and never contain the token or its signature.
 */
export class AuthError extends CollabError {
  /** HTTP status for refusing an upgrade or answering `/dev/token`: 400 for bad requests, else 401. */
  readonly status: 400 | 401

  constructor(
    code: AuthErrorCode,
    readonly reason: AuthFailureReason,
    message: string,
  ) {
    super(code, message)
    this.status = code === AuthErrorCode.DevTokenRequest ? 400 : 401
  }
}

export const isAuthError = (value: unknown): value is AuthError => value instanceof AuthError
