import * as Y from 'yjs'
import type WebSocket from 'ws'
import { DEFAULT_CONFIG, type ServerConfig } from '../config.ts'
import { startCollabServer, type CollabServer } from '../collabServer.ts'
import { createLogger } from '../observability/logger.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { DEFAULT_TEST_USER, fetchDevToken, type TestUser } from '../../shared/testing/devTokens.ts'
import { connectStockClient, type StockClient } from '../../shared/testing/stockClient.ts'
import { connectRawPeer, type RawPeer } from '../../shared/testing/rawPeer.ts'

export interface ConnectOptions extends TestUser {
  /** Opt in to extension messages (acks, notices). */
  readonly ext?: boolean
  readonly doc?: Y.Doc
}

export interface RawConnectOptions extends TestUser {
  /** An explicit token, or null for none; by default a dev token for the test user. */
  readonly token?: string | null
  readonly ws?: WebSocket.ClientOptions
}

export interface TestServer {
  readonly server: CollabServer
  /** ws://127.0.0.1:PORT (wss:// with TLS; then `token`/`connect` cannot fetch from it: sign tokens with the dev secret) */
  readonly url: string
  readonly httpUrl: string
  readonly dataDir: string
  /** The tenant tests act in unless they say otherwise (storage names start with it). */
  readonly tenant: string
  /** A real dev-mode token (editor alice@acme unless told otherwise). */
  token(user?: TestUser): Promise<string>
  /** A stock WebsocketProvider on `room` with a token for the user. */
  connect(room: string, options?: ConnectOptions): Promise<StockClient>
  /** A raw socket on `path` (`/proposal/p-1?ext=1`), with a token for the user unless `token: null`. */
  raw(path: string, options?: RawConnectOptions): Promise<RawPeer>
  /** Graceful stop (the data dir stays). */
  stop(): Promise<void>
  /** Stops and starts a new server on the same data dir and port. */
  restart(): Promise<TestServer>
  /** Stops and removes the data dir. */
  dispose(): Promise<void>
}

/**
 * An in-process server in dev mode on a free port, with a real LevelDB in a fresh temp dir. Timers
 * default to test-friendly values; pass overrides to shrink or stretch them instead of sleeping.
 */
export const startServer = async (overrides: Partial<ServerConfig> = {}): Promise<TestServer> => {
  const dir = overrides.dataDir ? null : await tempDir('posalpro-server-')
  const config: ServerConfig = {
    ...DEFAULT_CONFIG,
    port: 0,
    devMode: true,
    roomUnloadGraceMs: 200,
    // The background verifier reads the store on its own schedule; the tests that need it turn it on.
    verifyIntervalMs: 0,
    logLevel: (process.env.TEST_LOG_LEVEL ?? 'silent') as ServerConfig['logLevel'],
    ...overrides,
    dataDir: overrides.dataDir ?? dir!.path,
  }
  const server = await startCollabServer(config, createLogger(config.logLevel))
  const secure = config.tlsCert ? 's' : ''
  const url = `ws${secure}://127.0.0.1:${server.port}`
  const httpUrl = `http${secure}://127.0.0.1:${server.port}`
  const token = (user?: TestUser) => fetchDevToken(httpUrl, user)
  const handle: TestServer = {
    server,
    url,
    httpUrl,
    dataDir: config.dataDir,
    tenant: DEFAULT_TEST_USER.tenant,
    token,
    connect: async (room, { ext, doc, ...user } = {}) =>
      connectStockClient(url, room, { params: { token: await token(user), ...(ext ? { ext: '1' } : {}) }, ...(doc ? { doc } : {}) }),
    raw: async (path, { token: explicit, ws, ...user } = {}) => {
      const target = new URL(`${url}${path}`)
      const chosen = explicit === undefined ? await token(user) : explicit
      if (chosen !== null) target.searchParams.set('token', chosen)
      return connectRawPeer(target.toString(), ws)
    },
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
