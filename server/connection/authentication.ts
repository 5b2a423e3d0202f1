import { readFile } from 'node:fs/promises'
import type { ServerConfig } from '../config.ts'
import type { Logger } from '../observability/logger.ts'
import {
  createTokenVerifier,
  devVerifierOptions,
  loadOrCreateDevSecret,
  type KeySource,
  type TokenVerifier,
} from '../auth/index.ts'

export interface Authentication {
  readonly verifier: TokenVerifier
  /** The dev-mode secret (tokens for `/dev/token`), or null outside dev mode. */
  readonly devSecret: Uint8Array | null
}

/**
 * Builds the token verifier from the configuration: the dev secret in dev mode, otherwise the one
 * configured key source. Throws ERR_BAD_CONFIG (from the verifier) for an unusable key.
 */
export const createAuthentication = async (config: ServerConfig, logger: Logger): Promise<Authentication> => {
  if (config.devMode) {
    const { secret, path, created } = await loadOrCreateDevSecret(config.dataDir)
    logger.warn(
      { secretFile: path, created },
      'DEV MODE: anyone who reaches this server can get a token for any user, role and tenant at GET /dev/token. ' +
        'Never run dev mode where others can connect.',
    )
    return { verifier: createTokenVerifier({ ...devVerifierOptions(secret), requireMfa: config.requireMfa }), devSecret: secret }
  }
  const key: KeySource = config.jwtSecret
    ? { kind: 'hs256', secret: config.jwtSecret }
    : config.jwtPublicKeyFile
      ? {
          kind: 'pem',
          algorithm: config.jwtAlgorithm as 'RS256' | 'ES256',
          publicKeyPem: await readFile(config.jwtPublicKeyFile, 'utf8'),
        }
      : { kind: 'jwks-file', path: config.jwksFile }
  const verifier = createTokenVerifier({
    key,
    clockToleranceSec: config.jwtClockToleranceSec,
    requireMfa: config.requireMfa,
    ...(config.jwtIssuer ? { issuer: config.jwtIssuer } : {}),
    ...(config.jwtAudience ? { audience: config.jwtAudience } : {}),
  })
  logger.info({ keySource: key.kind, algorithms: verifier.algorithms, requireMfa: config.requireMfa }, 'verifying tokens')
  return { verifier, devSecret: null }
}
