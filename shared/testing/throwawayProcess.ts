import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'

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
  /** Sends `signal`; after `graceMs` without an exit, SIGKILL. Resolves once it has exited. */
  stop(signal: NodeJS.Signals, graceMs?: number): Promise<number | string>
}

const OUTPUT_KEPT = 64 * 1024
const running = new Set<ChildProcess>()
let exitHookInstalled = false

export const startThrowaway = (command: string, args: readonly string[], options: SpawnOptions = {}): ThrowawayProcess => {
  if (!exitHookInstalled) {
    exitHookInstalled = true
    // A test that fails or times out must not leave a database running on a shared machine. The
    // test runner ends a file that timed out with SIGTERM, whose default action skips 'exit':
    // the children are killed first, then the signal is raised again with its default action.
    const killAll = () => {
      for (const child of running) child.kill('SIGKILL')
    }
    process.once('exit', killAll)
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        killAll()
        process.kill(process.pid, signal)
      })
    }
  }
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
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
    async stop(signal, graceMs = 10_000) {
      if (hasExited()) return exited
      child.kill(signal)
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      try {
        return await exited
      } finally {
        clearTimeout(timer)
      }
    },
  }
}
