import { execFileSync } from 'node:child_process'
import { chown, readdir } from 'node:fs/promises'
import path from 'node:path'
import pg from 'pg'
import { freePort } from './freePort.ts'
import { tempDir } from './tempDir.ts'
import { signalChildren, startThrowaway, type ThrowawayProcess } from './throwawayProcess.ts'

export interface PostgresInstance {
  /** `postgres://postgres@127.0.0.1:PORT/DB`: the test's own database (trust auth, no password). */
  readonly url: string
  readonly port: number
  /** The cluster's temp directory (removed by `stop()`). */
  readonly directory: string
  /** A fresh empty database in the same cluster (for a test that needs a second one). */
  createDatabase(name: string): Promise<string>
  /** SIGSTOP to the server and its backends: connections stay open, nothing is answered. */
  pause(): void
  /** SIGCONT after `pause()`. */
  resume(): void
  /** SIGKILL: the server is gone at once ("PostgreSQL unavailable"); `stop()` still cleans up. */
  kill(): Promise<void>
  /** Fast shutdown, then the data directory is removed. */
  stop(): Promise<void>
}

/** Where Debian puts each installed major version's binaries; the newest is used. POSTGRES_BIN overrides. */
const DEBIAN_ROOT = '/usr/lib/postgresql'

/**
 * A throwaway PostgreSQL cluster for one test: `initdb` in a fresh temp directory, the server on a
 * free port on 127.0.0.1, one database created. Nothing is shared between runs.
 *
 * PostgreSQL refuses to run as root: when the test runs as root, initdb and the server run as the
 * `postgres` user (the directory is handed to it first).
 *
 * Lean startup, for tests only: `fsync=off`, `synchronous_commit=off` and `full_page_writes=off`
 * give up durability across an OS crash, which a throwaway cluster never needs; a production
 * database must keep the defaults (a commit there is what "durable" means in cluster mode).
 */
export const startPostgres = async ({ database = 'collab_test' } = {}): Promise<PostgresInstance> => {
  const bin = await postgresBinDir()
  const dir = await tempDir('posalpro-pg-')
  const owner = process.getuid?.() === 0 ? postgresUser() : null
  const as = owner ? { uid: owner.uid, gid: owner.gid } : {}
  let server: ThrowawayProcess | null = null
  try {
    if (owner) await chown(dir.path, owner.uid, owner.gid)
    const dataDir = path.join(dir.path, 'data')
    const initdb = startThrowaway(
      path.join(bin, 'initdb'),
      ['-D', dataDir, '--auth=trust', '--username=postgres', '--encoding=UTF8', '--locale=C', '--no-sync', '--no-instructions'],
      as,
    )
    const initialized = await initdb.exited
    if (initialized !== 0) throw new Error(`initdb failed (${initialized}):\n${initdb.output()}`)

    // The port may be taken between choosing and binding it: then the server exits, try another.
    let port = 0
    for (let attempt = 1; server === null; attempt++) {
      port = await freePort()
      const started = startThrowaway(
        path.join(bin, 'postgres'),
        [
          '-D', dataDir,
          '-p', String(port),
          '-c', 'listen_addresses=127.0.0.1',
          '-c', 'unix_socket_directories=',
          '-c', 'fsync=off',
          '-c', 'synchronous_commit=off',
          '-c', 'full_page_writes=off',
          '-c', 'shared_buffers=16MB',
          '-c', 'max_connections=40',
        ],
        as,
        { withChildren: true },
      )
      if (await acceptsConnections(port, started)) server = started
      else if (attempt >= 3) throw new Error(`postgres did not start:\n${started.output()}`)
    }
    const running = server
    const urlOf = (name: string) => `postgres://postgres@127.0.0.1:${port}/${name}`
    const createDatabase = async (name: string): Promise<string> => {
      const admin = new pg.Client({ connectionString: urlOf('postgres') })
      await admin.connect()
      try {
        await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`)
      } finally {
        await admin.end()
      }
      return urlOf(name)
    }
    const url = await createDatabase(database)
    return {
      url,
      port,
      directory: dir.path,
      createDatabase,
      // The postmaster first (it forks no new backend while stopped), then every process it
      // started: each backend runs in a session of its own, so a process group would not reach them.
      pause: () => {
        running.signal('SIGSTOP')
        signalChildren(running.child.pid, 'SIGSTOP')
      },
      resume: () => {
        signalChildren(running.child.pid, 'SIGCONT')
        running.signal('SIGCONT')
      },
      async kill() {
        await running.stop('SIGKILL')
      },
      async stop() {
        // A paused server cannot shut down.
        signalChildren(running.child.pid, 'SIGCONT')
        running.signal('SIGCONT')
        await running.stop('SIGINT') // fast shutdown: active sessions are ended
        await dir.remove()
      },
    }
  } catch (error) {
    await server?.stop('SIGKILL')
    await dir.remove()
    throw error
  }
}

/** Polls until the server answers a query; false when it exited first (e.g. its port was taken). */
const acceptsConnections = async (port: number, server: ThrowawayProcess): Promise<boolean> => {
  let exited = false
  void server.exited.then(() => (exited = true))
  const deadline = Date.now() + 60_000
  while (!exited) {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 2_000 })
    client.on('error', () => {})
    try {
      await client.connect()
      await client.query('SELECT 1')
      return true
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`postgres on port ${port} not ready within 60 s: ${(error as Error).message}\n${server.output()}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    } finally {
      await client.end().catch(() => {})
    }
  }
  return false
}

const postgresBinDir = async (): Promise<string> => {
  if (process.env.POSTGRES_BIN) return process.env.POSTGRES_BIN
  const versions = (await readdir(DEBIAN_ROOT).catch(() => [])).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a))
  if (versions.length === 0) throw new Error(`no PostgreSQL under ${DEBIAN_ROOT} (apt-get install postgresql, or set POSTGRES_BIN)`)
  return path.join(DEBIAN_ROOT, versions[0]!, 'bin')
}

const postgresUser = (): { uid: number; gid: number } => {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim())
  return { uid: id('-u'), gid: id('-g') }
}
