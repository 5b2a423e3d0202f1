import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import { fetchDevToken, type TestUser } from './devTokens.ts'
import { connectStockClient, type StockClient } from './stockClient.ts'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

export interface ServerProcess {
  readonly port: number
  /** ws://127.0.0.1:PORT */
  readonly url: string
  /** http://127.0.0.1:PORT */
  readonly httpUrl: string
  readonly child: ChildProcess
  /** Every log line the server wrote (JSON), for assertions on logs. */
  readonly logs: string[]
  /** A real dev-mode token (editor alice@acme unless told otherwise). */
  token(user?: TestUser): Promise<string>
  /** A stock WebsocketProvider on `room` with a token for the user (`ext` opts in to acks). */
  connect(room: string, options?: TestUser & { ext?: boolean }): Promise<StockClient>
  /** Resolves with the exit code (or signal name) when the process exits. */
  readonly exited: Promise<number | string>
  /** SIGTERM and wait for the exit. */
  stop(): Promise<number | string>
  /** SIGKILL and wait: a crash, nothing gets to finish. */
  kill(): Promise<number | string>
}

/**
 * Runs the real server (`server/main.ts`) in dev mode in its own process on a free port, as `npm start` does,
 * and resolves once it logged "listening". Used where a test needs a crash (SIGKILL) or a signal.
 */
export const spawnServer = async ({
  dataDir,
  port = 0,
  args = [],
  env = {},
}: {
  dataDir: string
  port?: number
  args?: string[]
  env?: Record<string, string>
}): Promise<ServerProcess> => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'server/main.ts'), '--dev', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, ...args],
    { cwd: ROOT, env: { ...process.env, COLLAB_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const logs: string[] = []
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  )
  const listeningPort = await new Promise<number>((resolve, reject) => {
    let buffered = ''
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8')
      let newline
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline)
        buffered = buffered.slice(newline + 1)
        logs.push(line)
        try {
          const entry = JSON.parse(line) as { msg?: string; port?: number }
          if (entry.msg === 'listening' && typeof entry.port === 'number') resolve(entry.port)
        } catch {
          // not a JSON line
        }
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (chunk: Buffer) => logs.push(chunk.toString('utf8')))
    void exited.then((code) => reject(new Error(`server exited (${code}) before listening:\n${logs.join('\n')}`)))
  })
  const signal = async (name: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name)
    return exited
  }
  return {
    port: listeningPort,
    url: `ws://127.0.0.1:${listeningPort}`,
    httpUrl: `http://127.0.0.1:${listeningPort}`,
    child,
    logs,
    exited,
    token: (user) => fetchDevToken(`http://127.0.0.1:${listeningPort}`, user),
    connect: async (room, { ext, ...user } = {}) => {
      const token = await fetchDevToken(`http://127.0.0.1:${listeningPort}`, user)
      return connectStockClient(`ws://127.0.0.1:${listeningPort}`, room, { params: { token, ...(ext ? { ext: '1' } : {}) } })
    },
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
  }
}
