import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { base64url } from 'jose'
import { startThrowaway, type ThrowawayProcess } from '../../shared/testing/throwawayProcess.ts'
import { DEV_SECRET_FILE } from '../auth/devMode.ts'
import { OPTIONS } from '../config.ts'

/**
 * One server process of a local cluster (`npm run cluster`, the cluster bench): the real server
 * entry in a process of its own, in dev mode, on its own port and data directory.
 */
export interface LocalNode {
  readonly name: string
  /** http://127.0.0.1:PORT */
  readonly url: string
  readonly port: number
  readonly dataDir: string
  readonly pid: number
  readonly process: ThrowawayProcess
  /** SIGTERM (graceful: pending writes finish), SIGKILL after the grace. */
  stop(graceMs?: number): Promise<number | string>
  /** SIGKILL: a crash, nothing gets to finish. */
  kill(): Promise<number | string>
}

export interface LocalNodeOptions {
  readonly name: string
  readonly port: number
  readonly dataDir: string
  /** Shared by every node of the cluster: a dev token from one node is valid on all of them. */
  readonly devSecret: Uint8Array
  readonly postgresUrl: string
  readonly redisUrl?: string
  readonly appDir?: string
  /** More server flags (the bench raises rate limits). */
  readonly extraArgs?: readonly string[]
  readonly env?: Readonly<Record<string, string>>
  readonly readyTimeoutMs?: number
}

const HERE = path.dirname(fileURLToPath(import.meta.url))
/** The server entry beside this file: main.ts under tsx, main.js in dist (`npm run cluster`). */
const SERVER_ENTRY = path.resolve(HERE, '..', `main${path.extname(fileURLToPath(import.meta.url))}`)

/** The cluster flags this server build knows (until cluster mode is merged, none of them). */
const knownFlags = new Set(Object.values(OPTIONS).map((spec) => spec.flag))
export const clusterFlagsSupported = (): boolean => ['redis-url', 'node-id', 'advertise-url'].every((flag) => knownFlags.has(flag))

/** A fresh dev-mode secret, to share between the nodes of one local cluster. */
export const newDevSecret = (): Uint8Array => new Uint8Array(randomBytes(32))

/**
 * Starts the node and resolves once its `/readyz` answers 200 (its store is open and it listens).
 * The cluster flags (`--redis-url`, `--node-id`, `--advertise-url`) are passed when this server
 * build has them; without them each node is a plain server on the shared PostgreSQL database.
 */
export const startLocalNode = async (options: LocalNodeOptions): Promise<LocalNode> => {
  const { name, port, dataDir } = options
  const url = `http://127.0.0.1:${port}`
  await mkdir(dataDir, { recursive: true })
  // The file dev mode reads its secret from (created with mode 0600 as the server does).
  await writeFile(path.join(dataDir, DEV_SECRET_FILE), base64url.encode(options.devSecret), { mode: 0o600 })
  const args = [
    ...process.execArgv,
    SERVER_ENTRY,
    '--dev',
    '--host', '127.0.0.1',
    '--port', String(port),
    '--data-dir', dataDir,
    '--postgres-url', options.postgresUrl,
    // Behind the front every socket comes from 127.0.0.1; the client's address is in X-Forwarded-For.
    '--trust-proxy',
    ...(clusterFlagsSupported() && options.redisUrl
      ? ['--redis-url', options.redisUrl, '--node-id', name, '--advertise-url', url]
      : []),
    ...(options.appDir ? ['--app-dir', options.appDir] : []),
    ...(options.extraArgs ?? []),
  ]
  const child = startThrowaway(process.execPath, args, {
    env: { ...process.env, COLLAB_LOG_LEVEL: process.env.COLLAB_LOG_LEVEL ?? 'warn', ...options.env },
  })
  await untilReady(url, child, options.readyTimeoutMs ?? 60_000, name)
  return {
    name,
    url,
    port,
    dataDir,
    pid: child.child.pid!,
    process: child,
    stop: (graceMs = 15_000) => child.stop('SIGTERM', graceMs),
    kill: () => child.stop('SIGKILL'),
  }
}

const untilReady = async (url: string, child: ThrowawayProcess, timeoutMs: number, name: string): Promise<void> => {
  let exited: number | string | null = null
  void child.exited.then((code) => (exited = code))
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (exited !== null) throw new Error(`${name} exited (${exited}) before it was ready:\n${child.output()}`)
    try {
      const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) })
      await response.body?.cancel()
      if (response.ok) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await child.stop('SIGKILL')
      throw new Error(`${name} not ready within ${timeoutMs} ms:\n${child.output()}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
