import { readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs'
import { spawnServer, type ServerProcess } from '../shared/testing/serverProcess.ts'
import { tempDir } from '../shared/testing/tempDir.ts'

/**
 * The server under measurement: the real `server/main.ts` in dev mode in its own child process
 * (so its CPU and memory are its own), on a free port of 127.0.0.1, with a fresh data directory
 * that is removed when it stops.
 */
export interface BenchServer {
  /** The server's pid now (a restart changes it): CPU and RSS are read from /proc/<pid>. */
  readonly pid: number
  /** ws://127.0.0.1:PORT */
  readonly url: string
  /** http://127.0.0.1:PORT */
  readonly httpUrl: string
  readonly validationGate: boolean
  /** The server's log lines at warn level and above (closed peers, paused reads, rate limits). */
  warnings(): string[]
  /**
   * Stops the process (SIGTERM and a graceful stop by default; SIGKILL: a crash) and starts a new
   * one on the same port and data directory (a cold start; clients reconnect to the same URL).
   * Resolves once the new process listens. Null when the bench did not start this server (`--url`).
   */
  readonly restart: ((signal?: RestartSignal) => Promise<void>) | null
  /** SIGTERM (SIGKILL after a deadline), then removes the data directory; nothing for a `--url` server. */
  stop(): Promise<void>
}

/**
 * Where the servers under measurement come from: the bench starts a fresh one per scenario run
 * (the default), or it measures one that is already running (`--url`, optional `--server-pid`).
 */
export type RestartSignal = 'SIGTERM' | 'SIGKILL'

export interface ServerTarget {
  /** A server for one scenario run, with the validation gate on or off. */
  start(options: { validationGate: boolean }): Promise<BenchServer>
  /** Whether `start` can choose the gate setting (false for a given server: it runs as configured). */
  readonly choosesGate: boolean
  /** For the report: how the server was obtained. */
  readonly description: string
}

/**
 * The bench's clients are a few users (and all on 127.0.0.1) driving far more traffic than people
 * do, and the server's inbound budgets are per user and per connection (a connection over budget
 * is paused). Left in place they would measure the limiter, not the server: they are raised far
 * above anything the bench sends, as is the cap on unauthenticated sockets per address (the
 * connections scenario opens connections faster than tokens are verified at times).
 */
export const BENCH_SERVER_ARGS: readonly string[] = [
  '--rate-messages', '1000000000',
  '--rate-message-burst', '1000000000',
  '--rate-bytes', '100000000000',
  '--rate-byte-burst', '100000000000',
  '--connection-messages', '1000000000',
  '--connection-message-burst', '1000000000',
  '--connection-bytes', '100000000000',
  '--connection-byte-burst', '100000000000',
  '--max-unauthenticated-per-address', '100000',
  '--max-pending-upgrades', '100000',
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

const spawnBenchServer = (dataDir: string, validationGate: boolean, port = 0): Promise<ServerProcess> =>
  spawnServer({ dataDir, port, args: [...BENCH_SERVER_ARGS], env: { COLLAB_VALIDATION_GATE: String(validationGate) } })

const pidOf = (server: ServerProcess): number => {
  const pid = server.child.pid
  if (pid === undefined) throw new Error('server process has no pid')
  return pid
}

/** SIGTERM, and SIGKILL when the process has not exited by the deadline. */
const stopProcess = async (server: ServerProcess): Promise<void> => {
  const deadline = setTimeout(() => void server.kill(), STOP_DEADLINE_MS)
  try {
    await server.stop()
  } finally {
    clearTimeout(deadline)
  }
}

/** Starts `server/main.ts` in its own process on a fresh temp data directory. */
export const startBenchServer = async ({ validationGate }: { validationGate: boolean }): Promise<BenchServer> => {
  const dataDir = await tempDir('posalpro-bench-')
  let server: ServerProcess
  try {
    server = await spawnBenchServer(dataDir.path, validationGate)
  } catch (error) {
    await dataDir.remove()
    throw error
  }
  running.set(server, dataDir.path)
  // Logs of earlier processes of this server (before restarts), so no warning is lost.
  const earlierWarnings: string[] = []
  let stopped: Promise<void> | null = null
  return {
    get pid() {
      return pidOf(server)
    },
    get url() {
      return server.url
    },
    get httpUrl() {
      return server.httpUrl
    },
    validationGate,
    warnings: () => [...earlierWarnings, ...warningsAfterStart(server.logs)],
    restart: async (signal: RestartSignal = 'SIGTERM') => {
      if (stopped) throw new Error('the server was stopped')
      if (signal === 'SIGKILL') await server.kill()
      else await stopProcess(server)
      earlierWarnings.push(...warningsAfterStart(server.logs))
      running.delete(server)
      server = await spawnBenchServer(dataDir.path, validationGate, server.port)
      running.set(server, dataDir.path)
    },
    stop: () =>
      (stopped ??= (async () => {
        try {
          await stopProcess(server)
        } finally {
          running.delete(server)
          await dataDir.remove()
        }
      })()),
  }
}

/** The default: a fresh server process per scenario run. */
export const spawnedServers: ServerTarget = {
  start: startBenchServer,
  choosesGate: true,
  description: 'its own process per run (server/main.ts via tsx), fresh data dir, dev mode, rate limits raised (all clients share 127.0.0.1)',
}

/**
 * A server that is already running (`--url ws://127.0.0.1:PORT`). Its CPU and RSS come from
 * /proc/<pid>, so it must run on this machine: `serverPid`, or the process listening on the port.
 * It must be in dev mode (the bench fetches tokens from /dev/token) with rate limits raised.
 */
export const givenServer = ({ url, serverPid, validationGate }: { url: string; serverPid: number | null; validationGate: boolean }): ServerTarget => {
  const parsed = new URL(url)
  if (parsed.protocol !== 'ws:') throw new Error(`--url must be ws://host:port, got ${url}`)
  const port = Number(parsed.port || 80)
  const wsUrl = `ws://${parsed.host}`
  return {
    choosesGate: false,
    description: `given server ${wsUrl} (validation gate ${validationGate ? 'on' : 'off'} as configured), pid ${serverPid ?? 'found by its port'}`,
    start: async () => {
      const pid = serverPid ?? findListeningPid(port)
      if (pid === null) throw new Error(`no process of this user listens on port ${port}; give --server-pid`)
      return {
        pid,
        url: wsUrl,
        httpUrl: `http://${parsed.host}`,
        validationGate,
        warnings: () => [],
        restart: null,
        stop: async () => {},
      }
    },
  }
}

/**
 * The pid of the process listening on a TCP port of this machine: the socket's inode from
 * /proc/net/tcp{,6}, then the process that holds it among /proc/<pid>/fd (only this user's are readable).
 */
export const findListeningPid = (port: number): number | null => {
  const LISTEN = '0A'
  const inodes = new Set<string>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = ''
    try {
      text = readFileSync(table, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      const local = fields[1]
      if (!local || fields[3] !== LISTEN) continue
      if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port && fields[9]) inodes.add(fields[9])
    }
  }
  if (inodes.size === 0) return null
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let fds: string[]
    try {
      fds = readdirSync(`/proc/${entry}/fd`)
    } catch {
      continue
    }
    for (const fd of fds) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${entry}/fd/${fd}`))
        if (match && inodes.has(match[1]!)) return Number(entry)
      } catch {
        // closed meanwhile
      }
    }
  }
  return null
}
