/** Identity and access (tokens, roles, dev mode): what the server imports from `server/auth`. */
export { AuthError, AuthErrorCode, isAuthError, type AuthFailureReason } from './authError.ts'
export {
  EXP_MILLISECONDS_THRESHOLD,
  TENANT_PATTERN,
  claimsSchema,
  hasRole,
  identityFromClaims,
  roleRank,
  type Identity,
  type TokenClaims,
} from './identity.ts'
export {
  BEARER_SUBPROTOCOL_PREFIX,
  COLLAB_SUBPROTOCOL,
  TOKEN_QUERY_PARAM,
  verifyBearer,
  offeredSubprotocols,
  redactTokenInUrl,
  selectSubprotocol,
  tokenFromRequest,
} from './requestToken.ts'
export {
  DEFAULT_CLOCK_TOLERANCE_SEC,
  MAX_TOKEN_LENGTH,
  createTokenVerifier,
  type KeySource,
  type TokenVerifier,
  type TokenVerifierOptions,
} from './tokenVerifier.ts'
export { SECOND_FACTOR_METHODS, requireSecondFactor, showsSecondFactor } from './mfa.ts'
export {
  DEV_SECRET_FILE,
  DEV_TOKEN_DEFAULT_TTL_SECONDS,
  DEV_TOKEN_ISSUER,
  DEV_TOKEN_MAX_TTL_SECONDS,
  devTokenRequest,
  devVerifierOptions,
  issueDevToken,
  loadOrCreateDevSecret,
  type DevSecret,
  type DevToken,
  type DevTokenOptions,
} from './devMode.ts'
