import { DEFAULT_CONFIG, type ServerConfig } from '../config.ts'
import { startCollabServer, type CollabServer } from '../collabServer.ts'
import { createLogger } from '../logger.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'

export interface TestServer {
  readonly server: CollabServer
  /** ws://127.0.0.1:PORT */
  readonly url: string
  readonly httpUrl: string
  readonly dataDir: string
  /** Graceful stop (the data dir stays). */
  stop(): Promise<void>
  /** Stops and starts a new server on the same data dir and port. */
  restart(): Promise<TestServer>
  /** Stops and removes the data dir. */
  dispose(): Promise<void>
}

/**
 * An in-process server on a free port with a real LevelDB in a fresh temp dir. Timers default to
 * test-friendly values; pass overrides to shrink or stretch them instead of sleeping.
 */
export const startServer = async (overrides: Partial<ServerConfig> = {}): Promise<TestServer> => {
  const dir = overrides.dataDir ? null : await tempDir('posalpro-server-')
  const config: ServerConfig = {
    ...DEFAULT_CONFIG,
    port: 0,
    roomUnloadGraceMs: 200,
    logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...overrides,
    dataDir: overrides.dataDir ?? dir!.path,
  }
  const server = await startCollabServer(config, createLogger(config.logLevel))
  const url = `ws://127.0.0.1:${server.port}`
  const handle: TestServer = {
    server,
    url,
    httpUrl: `http://127.0.0.1:${server.port}`,
    dataDir: config.dataDir,
    stop: () => server.close(),
    restart: async () => {
      await server.close()
      return startServer({ ...config, port: server.port })
    },
    dispose: async () => {
      await server.close()
      await dir?.remove()
    },
  }
  return handle
}
