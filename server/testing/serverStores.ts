import type { ServerConfig } from '../config.ts'
import { startPostgres, type PostgresInstance } from '../../shared/testing/postgresInstance.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'

/** One store a test server can run on, made fresh for a test file. */
export interface ServerStore {
  readonly name: 'LevelDB' | 'PostgreSQL'
  /** For `startServer`: where the server keeps its documents. */
  readonly config: Partial<ServerConfig> & { dataDir: string }
  /** For `spawnServer`: the same, as flags (the data directory is passed on its own). */
  readonly args: readonly string[]
  /** The throwaway PostgreSQL, or null on LevelDB. */
  readonly postgres: PostgresInstance | null
  /** Removes the data directory and stops the database. */
  dispose(): Promise<void>
}

/**
 * Every store the server can run on: a test written once runs on each (`for (const open of
 * SERVER_STORES)`). PostgreSQL is a throwaway cluster of the test's own; its server still gets a
 * data directory, which it does not use for documents.
 */
export const SERVER_STORES: ReadonlyArray<{ readonly name: ServerStore['name']; open(): Promise<ServerStore> }> = [
  {
    name: 'LevelDB',
    async open() {
      const dir = await tempDir('posalpro-server-')
      return { name: 'LevelDB', config: { dataDir: dir.path }, args: [], postgres: null, dispose: () => dir.remove() }
    },
  },
  {
    name: 'PostgreSQL',
    async open() {
      const dir = await tempDir('posalpro-server-')
      const postgres = await startPostgres()
      return {
        name: 'PostgreSQL',
        config: { dataDir: dir.path, postgresUrl: postgres.url },
        args: ['--postgres-url', postgres.url],
        postgres,
        async dispose() {
          await postgres.stop()
          await dir.remove()
        },
      }
    },
  },
]
