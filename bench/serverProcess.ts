import { rmSync } from 'node:fs'
import { spawnServer, type ServerProcess } from '../shared/testing/serverProcess.ts'
import { tempDir } from '../shared/testing/tempDir.ts'

/**
 * The server under measurement: the real `server/main.ts` in dev mode in its own child process
 * (so its CPU and memory are its own), on a free port of 127.0.0.1, with a fresh data directory
 * that is removed when it stops.
 */
export interface BenchServer {
  readonly pid: number
  /** ws://127.0.0.1:PORT */
  readonly url: string
  /** http://127.0.0.1:PORT */
  readonly httpUrl: string
  readonly validationGate: boolean
  /** The server's log lines at warn level and above (closed peers, paused reads, rate limits). */
  warnings(): string[]
  /** SIGTERM (SIGKILL after a deadline), then removes the data directory. */
  stop(): Promise<void>
}

/**
 * Every bench client connects from 127.0.0.1, and the server's rate limits are per client address
 * (300 messages/s by default, shared by all connections of an address). Left in place they would
 * measure the limiter, not the server: they are raised far above anything the bench sends.
 */
export const BENCH_SERVER_ARGS: readonly string[] = [
  '--rate-messages', '1000000000',
  '--rate-message-burst', '1000000000',
  '--rate-bytes', '100000000000',
  '--rate-byte-burst', '100000000000',
]

const STOP_DEADLINE_MS = 10_000

/** Servers started and not yet stopped, so an aborted bench run does not leave them behind. */
const running = new Map<ServerProcess, string>()

/**
 * Synchronous last resort for `process.on('exit')`: SIGKILL every server this process started
 * (by its own child handle) and remove their data directories.
 */
export const killRunningServers = (): void => {
  for (const [server, dir] of running) {
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
  running.clear()
}
const PINO_WARN_LEVEL = 40

const parseLine = (line: string): { level?: unknown; msg?: unknown } | null => {
  try {
    return JSON.parse(line) as { level?: unknown; msg?: unknown }
  } catch {
    return null
  }
}

/**
 * warn-level lines logged after "listening" (before it, dev mode warns about itself, as it must),
 * and any non-JSON output (stderr).
 */
const warningsAfterStart = (logs: readonly string[]): string[] => {
  const listening = logs.findIndex((line) => parseLine(line)?.msg === 'listening')
  return logs.slice(listening + 1).filter((line) => {
    const entry = parseLine(line)
    if (entry === null) return line.trim().length > 0
    return typeof entry.level === 'number' && entry.level >= PINO_WARN_LEVEL
  })
}

export const startBenchServer = async ({ validationGate }: { validationGate: boolean }): Promise<BenchServer> => {
  const dataDir = await tempDir('posalpro-bench-')
  let server: ServerProcess
  try {
    server = await spawnServer({
      dataDir: dataDir.path,
      args: [...BENCH_SERVER_ARGS],
      env: { COLLAB_VALIDATION_GATE: String(validationGate) },
    })
  } catch (error) {
    await dataDir.remove()
    throw error
  }
  running.set(server, dataDir.path)
  const pid = server.child.pid
  if (pid === undefined) throw new Error('server process has no pid')
  let stopped: Promise<void> | null = null
  return {
    pid,
    url: server.url,
    httpUrl: server.httpUrl,
    validationGate,
    warnings: () => warningsAfterStart(server.logs),
    stop: () =>
      (stopped ??= (async () => {
        const deadline = setTimeout(() => void server.kill(), STOP_DEADLINE_MS)
        try {
          await server.stop()
        } finally {
          clearTimeout(deadline)
          running.delete(server)
          await dataDir.remove()
        }
      })()),
  }
}
