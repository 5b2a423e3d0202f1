import { rm } from 'node:fs/promises'
import { freePort } from './freePort.ts'
import { tempDir } from './tempDir.ts'
import { startThrowaway, type ThrowawayProcess } from './throwawayProcess.ts'
import net from 'node:net'

export interface RedisInstance {
  /** `redis://127.0.0.1:PORT` */
  readonly url: string
  readonly port: number
  /** Its temp directory (removed by `stop()`). */
  readonly directory: string
  /** SIGSTOP: connections stay open but nothing is answered (a GC pause, an overloaded host, a partition). */
  pause(): void
  /** SIGCONT after `pause()`. */
  resume(): void
  /** SIGKILL: connections are refused (Redis down). Everything it held is lost: it keeps nothing on disk. */
  kill(): Promise<void>
  /** A fresh, empty Redis on the same port after `kill()` (a restart that lost its data). */
  restart(): Promise<void>
  /** Shuts it down and removes its directory. */
  stop(): Promise<void>
}

/**
 * A throwaway redis-server on a free port of 127.0.0.1, with no persistence (no RDB snapshots,
 * no append-only file) in a temp directory of its own.
 */
export const startRedis = async (): Promise<RedisInstance> => {
  const dir = await tempDir('posalpro-redis-')
  const launch = async (port: number): Promise<ThrowawayProcess | null> => {
    const server = startThrowaway('redis-server', [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--save', '',
      '--appendonly', 'no',
      '--dir', dir.path,
      '--daemonize', 'no',
    ])
    return (await answersPing(port, server)) ? server : null
  }
  let server: ThrowawayProcess | null = null
  let port = 0
  try {
    for (let attempt = 1; server === null; attempt++) {
      port = await freePort()
      server = await launch(port)
      if (server === null && attempt >= 3) throw new Error('redis-server did not start (is it installed? apt-get install redis-server)')
    }
  } catch (error) {
    await dir.remove()
    throw error
  }
  let running: ThrowawayProcess = server
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    directory: dir.path,
    pause: () => running.signal('SIGSTOP'),
    resume: () => running.signal('SIGCONT'),
    async kill() {
      await running.stop('SIGKILL')
    },
    async restart() {
      await running.stop('SIGKILL')
      const again = await launch(port)
      if (again === null) throw new Error(`redis-server did not restart on port ${port}`)
      running = again
    },
    async stop() {
      running.signal('SIGCONT') // a paused server cannot act on SIGTERM
      await running.stop('SIGTERM')
      await rm(dir.path, { recursive: true, force: true })
    },
  }
}

/** Polls with a raw PING until redis answers PONG; false when it exited first (its port was taken). */
const answersPing = async (port: number, server: ThrowawayProcess): Promise<boolean> => {
  let exited = false
  void server.exited.then(() => (exited = true))
  const deadline = Date.now() + 30_000
  while (!exited) {
    if (await ping(port)) return true
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} not ready within 30 s:\n${server.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return false
}

const ping = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1_000, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', (data) => done(data.toString('latin1').startsWith('+PONG')))
  })
