import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

/**
 * A child process a test starts and must never leave behind: its output is kept (for the error
 * when it fails to start), and it is killed when the test process exits, however it exits.
 */
export interface ThrowawayProcess {
  readonly child: ChildProcess
  /** Everything it wrote to stdout and stderr, capped (the end is what explains a failure). */
  output(): string
  /** Resolves with the exit code or signal name once it has exited. */
  readonly exited: Promise<number | string>
  /** Sends `signal` while it runs. */
  signal(signal: NodeJS.Signals): void
  /** Sends `signal`; after `graceMs` without an exit, SIGKILL. Resolves once it has exited. */
  stop(signal: NodeJS.Signals, graceMs?: number): Promise<number | string>
}

const OUTPUT_KEPT = 64 * 1024
/** Each running child, with how to kill it. */
const running = new Map<ChildProcess, () => void>()
let exitHookInstalled = false
let callerHandlesSignals = false

/**
 * For a long-running program (`npm run cluster`) that stops its throwaway processes itself on
 * SIGTERM/SIGINT, in order and gracefully: the kill-everything-at-once signal hook stands down.
 * The kill on exit stays, for a program that dies before it could stop them.
 */
export const leaveSignalsToCaller = (): void => {
  callerHandlesSignals = true
}

/**
 * `withChildren`: killed on the way out, its children die with it (PostgreSQL's backends, each in
 * a session of its own, would otherwise outlive a postmaster killed while they were paused).
 */
export const startThrowaway = (
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
  { withChildren = false } = {},
): ThrowawayProcess => {
  if (!exitHookInstalled) {
    exitHookInstalled = true
    // A test that fails or times out must not leave a database running on a shared machine. The
    // test runner ends a file that timed out with SIGTERM, whose default action skips 'exit':
    // the children are killed first, then the signal is raised again with its default action.
    const killAll = () => {
      for (const kill of running.values()) kill()
    }
    process.once('exit', killAll)
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        if (callerHandlesSignals) return
        killAll()
        process.kill(process.pid, signal)
      })
    }
  }
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
  const signal = (name: NodeJS.Signals) => {
    if (!running.has(child)) return
    child.kill(name)
  }
  running.set(child, () => {
    if (withChildren) signalChildren(child.pid, 'SIGKILL')
    signal('SIGKILL')
  })
  let output = ''
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_KEPT)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = new Promise<number | string>((resolve) => {
    child.once('error', (error) => {
      keep(Buffer.from(`${error.message}\n`))
      running.delete(child)
      resolve('spawn-failed')
    })
    child.once('exit', (code, signal) => {
      running.delete(child)
      resolve(code ?? signal ?? 'unknown')
    })
  })
  const hasExited = () => !running.has(child)
  return {
    child,
    output: () => output,
    exited,
    signal,
    async stop(name, graceMs = 10_000) {
      if (hasExited()) return exited
      if (name === 'SIGKILL') running.get(child)?.()
      else signal(name)
      const timer = setTimeout(() => running.get(child)?.(), graceMs)
      try {
        return await exited
      } finally {
        clearTimeout(timer)
      }
    },
  }
}

/** Sends `signal` to every process whose parent is `parent` (Linux: read from /proc). */
export const signalChildren = (parent: number | undefined, signal: NodeJS.Signals): void => {
  if (parent === undefined) return
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue // exited meanwhile
    }
    // `pid (comm) state ppid …`; comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    if (ppid !== parent) continue
    try {
      process.kill(Number(entry), signal)
    } catch {
      // exited meanwhile
    }
  }
}
