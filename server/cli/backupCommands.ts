import { createWriteStream } from 'node:fs'
import type { Globals } from './main.ts'
import { rename, rm } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Command, CommanderError } from 'commander'
import { checkBackupChecksum, readBackupFrames, type BackupHeader, type BackupSummary } from '../backup/backupFormat.ts'
import { restoreBackup } from '../backup/backupRestore.ts'
import { verifyBackup } from '../backup/backupVerify.ts'
import { backupOfStoppedStore } from '../backup/storeBackup.ts'
import { AdminApiError } from './adminClient.ts'
import { formatTable } from './table.ts'

/** What the CLI's main module lends these commands. */
export interface BackupCommandContext {
  readonly usageExit: number
  /** The master key the CLI was given (flag or the server's variables), or null. */
  masterKey(command: Command): Promise<Buffer | null>
  progressBar(done: number, total: number): string
}

const MIB = 1024 * 1024
const status = (text: string) => process.stderr.write(`\r${text}`.padEnd(80))

/**
 * `posalpro-admin backup create | verify | restore` (see backup/): backups of the LevelDB store.
 * create: online through the admin API (the token's tenant, as of the request) or offline on a
 * stopped data directory (the whole store, or --tenant); verify: checksum, every record, every
 * document verified after a scratch restore; restore: into an empty directory.
 */
export const registerBackupCommands = (program: Command, context: BackupCommandContext): void => {
  const backup = program.command('backup').description('consistent backups of the LevelDB store: create, verify, restore')

  backup
    .command('create')
    .description("a consistent backup as of now: online, the token's tenant from the running server; offline (--data-dir), the whole stopped store or --tenant")
    .requiredOption('-o, --output <file>', 'where to write the backup')
    .action(async (options: { output: string }, command: Command) => {
      const globals = command.optsWithGlobals<Globals>()
      if (globals.postgresUrl) throw new CommanderError(context.usageExit, 'posalpro.backupPostgres', 'a PostgreSQL store is backed up with pg_dump (README, Operations)')
      const partial = `${options.output}.partial`
      try {
        const source = globals.dataDir ? await offlineBackup(globals) : await onlineBackup(globals, context)
        await pipeline(source, createWriteStream(partial, { mode: 0o600 }))
        process.stderr.write('\n')
        await checkBackupChecksum(partial)
        await rename(partial, options.output)
      } catch (error) {
        await rm(partial, { force: true })
        throw error
      }
      const { header, summary } = await manifestOf(options.output)
      print(globals, { file: options.output, ...header, ...summary }, `${options.output}: ${describe(header, summary)}`)
    })

  backup
    .command('verify <file>')
    .description('the checksum, every record, and every document (restored to a scratch directory) as docs verify checks it; exit 1 on any problem')
    .action(async (file: string, _options: unknown, command: Command) => {
      const globals = command.optsWithGlobals<Globals>()
      const report = await verifyBackup(file, {
        masterKey: await context.masterKey(command),
        onProgress: (phase, read, total) => status(`${phase} ${context.progressBar(Math.round(read / MIB), Math.max(1, Math.round(total / MIB)))} MiB`),
        onDocument: (done, total, name) => status(`verify ${context.progressBar(done, total)} ${name}`),
      })
      process.stderr.write('\n')
      const rows = report.documents.map((r) => [r.name, r.ok ? 'ok' : 'PROBLEM', String(r.storedUpdates), String(r.events), r.problems.join('; ')])
      const text = `${file}: ${describe(report.header, report.summary)}\n${formatTable(['DOCUMENT', 'RESULT', 'UPDATES', 'EVENTS', 'PROBLEMS'], rows)}`
      print(globals, report, text)
      if (!report.ok) process.exitCode = 1
    })

  backup
    .command('restore <file>')
    .description('restore into --data-dir, which must be empty or new; a sealed backup needs its store\'s master key')
    .action(async (file: string, _options: unknown, command: Command) => {
      const globals = command.optsWithGlobals<Globals>()
      if (!globals.dataDir) throw new CommanderError(context.usageExit, 'posalpro.restoreWhere', 'name the directory to restore into: --data-dir NEW (empty or missing)')
      const { header, summary } = await restoreBackup(file, globals.dataDir, {
        masterKey: await context.masterKey(command),
        onProgress: (phase, read, total) => status(`${phase} ${context.progressBar(Math.round(read / MIB), Math.max(1, Math.round(total / MIB)))} MiB`),
      })
      process.stderr.write('\n')
      print(globals, { file, dataDir: globals.dataDir, ...header, ...summary }, `${file} → ${globals.dataDir}: ${describe(header, summary)}; start the server with --data-dir ${globals.dataDir}`)
    })
}

const print = (globals: Globals, json: unknown, text: string): void => {
  process.stdout.write(`${globals.json ? JSON.stringify(json, null, 2) : text}\n`)
}

const describe = (header: BackupHeader, summary: BackupSummary): string =>
  `taken ${header.createdAt} by server ${header.serverVersion}, ${header.tenant === null ? 'every tenant' : `tenant ${header.tenant}`}, ` +
  `${header.encrypted ? 'sealed (restore needs the master key)' : 'not encrypted'}; ${summary.documents} documents, ${summary.events} events, ` +
  `${summary.records} records, ${summary.logRecords} write-ahead log records`

/** The manifest of a complete backup: its header and summary frames. */
const manifestOf = async (file: string): Promise<{ header: BackupHeader; summary: BackupSummary }> => {
  let header: BackupHeader | null = null
  let summary: BackupSummary | null = null
  for await (const frame of readBackupFrames(file)) {
    if (frame.kind === 'header') header = frame.header
    if (frame.kind === 'summary') summary = frame.summary
  }
  return { header: header!, summary: summary! }
}

const offlineBackup = async (globals: Globals): Promise<Readable> =>
  backupOfStoppedStore(globals.dataDir!, { tenant: globals.tenant ?? null, onProgress: (records) => status(`backup: ${records} records`) })

/** The running server's backup of the token's tenant, as the admin API streams it. */
const onlineBackup = async (globals: Globals, context: BackupCommandContext): Promise<Readable> => {
  const token = globals.token ?? process.env.POSALPRO_ADMIN_TOKEN ?? ''
  if (!token) throw new CommanderError(context.usageExit, 'posalpro.noToken', 'an admin token is needed: --token or POSALPRO_ADMIN_TOKEN')
  let response: Response
  try {
    response = await fetch(new URL('/admin/backup', globals.url), { headers: { authorization: `Bearer ${token}` } })
  } catch (error) {
    throw new AdminApiError(0, 'ERR_UNREACHABLE', `cannot reach ${globals.url}: ${(error as Error).message}`)
  }
  if (!response.ok || !response.body) {
    const payload = (await response.json().catch(() => ({}))) as { error?: { code: string; message: string } }
    throw new AdminApiError(response.status, payload.error?.code ?? `HTTP_${response.status}`, payload.error?.message ?? response.statusText)
  }
  let received = 0
  const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>)
  body.on('data', (chunk: Buffer) => {
    received += chunk.byteLength
    status(`backup: ${(received / MIB).toFixed(1)} MiB received`)
  })
  return body
}
