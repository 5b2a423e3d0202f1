import { loadConfig } from './config.ts'
import { startCollabServer } from './collabServer.ts'
import { createLogger } from './observability/logger.ts'
import { ErrorCode, isCollabError } from '../shared/errors.ts'

/**
 * `npm start`: the server with the embedded default (LevelDB in ./data). SIGTERM/SIGINT stop
 * accepting, finish pending writes, close the store and exit 0.
 */
const main = async (): Promise<void> => {
  let config
  try {
    config = loadConfig(process.argv.slice(2), process.env)
  } catch (error) {
    console.error(isCollabError(error) ? `${error.code}: ${error.message}` : error)
    process.exit(2)
  }
  const logger = createLogger(config.logLevel)
  let server
  try {
    server = await startCollabServer(config, logger)
  } catch (error) {
    const summary = isCollabError(error) ? `${error.code}: ${error.message}` : String(error)
    logger.fatal({ err: error }, `could not start: ${summary}`)
    // A configuration only found bad while starting (a key file that does not parse) is still
    // ERR_BAD_CONFIG, exit 2 as documented; anything else (a locked data directory) exits 1.
    process.exit(isCollabError(error) && error.code === ErrorCode.BadConfig ? 2 : 1)
  }
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  // A rejected promise nobody handled is a bug in one operation (one room's load, one request): it
  // is logged, not a reason to drop every connection of every tenant (Node's default exits). A
  // thrown exception still ends the process; frame handling has its own boundary per room.
  process.on('unhandledRejection', (reason: unknown) => logger.error({ err: reason }, 'unhandled rejection'))
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  // SIGHUP re-reads the TLS certificate, key and CRL (renewals, revocations) without dropping a
  // connection, and the master key file (an online master-key rotation). Only with either: a plain
  // server without a key file keeps Node's default for SIGHUP (exit).
  if (config.tlsCert) process.on('SIGHUP', () => void server.reloadTls())
  if (config.masterKeyFile) {
    process.on('SIGHUP', () => {
      server.reloadMasterKey().then(
        (status) => logger.info({ masterKey: status }, status.rotated ? 'master key file re-read: the keyring is wrapped under its first key' : 'master key file re-read'),
        (error: unknown) => logger.error({ err: error }, `master key file re-read and refused, the keys in use are kept: ${isCollabError(error) ? `${error.code}: ${error.message}` : String(error)}`),
      )
    })
  }
}

await main()
