#!/usr/bin/env node
import { readFile, writeFile } from 'node:fs/promises'
import { Command, CommanderError, Option } from 'commander'
import { ErrorCode, isCollabError } from '../../shared/errors.ts'
import type { ReviewItem } from '../reviews/reviewItem.ts'
import { offlineSource, onlineSource, openStoreAt, type DataSource } from './dataSource.ts'
import { diffDocuments } from './documentDiff.ts'
import { documentToJSON } from '../../shared/documentModel.ts'
import { parseDocumentName } from '../../shared/documentName.ts'
import { documentAsOf } from '../persistence/eventLog.ts'
import { AdminApiError, createAdminClient, type AdminClient } from './adminClient.ts'
import { formatTable, time } from './table.ts'
import { DocumentStore } from '../persistence/documentStore.ts'
import { PostgresStorage } from '../persistence/postgres/postgresStorage.ts'
import { copyLevelDbToPostgres } from '../persistence/postgres/copyFromLevelDb.ts'
import { masterKeySource, masterKeyFromFile, type MasterKeySource } from '../crypto/masterKey.ts'
import { openExport, sealExport, SEALED_EXPORT_FORMAT, type SealedExport } from '../crypto/exportSeal.ts'
import { reencrypt, type KeyManagedStore, type ReencryptionProgress } from '../persistence/reencryption.ts'
import { KeyAdministration, type KeyStatus, type ReencryptionStatus } from '../admin/keyAdministration.ts'
import { registerBackupCommands } from './backupCommands.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import { auditedCliAction } from '../audit/cliActions.ts'
import { UNKNOWN_TENANT } from '../audit/auditRecord.ts'
import { reportTime } from '../audit/auditReport.ts'
import { reportCsv } from '../audit/reportCsv.ts'
import { copyAuditLog } from '../audit/copyAuditLog.ts'
import { auditLogFor } from '../audit/auditStorage.ts'

/**
 * `posalpro-admin` — inspect and repair documents. Online against a running server's
 * admin HTTP API (`--url`, admin token), or offline on a stopped server's data directory
 * (`--data-dir`, `--tenant`) for every command but `clients`, running the same operations itself.
 *
 * Exit codes: 0 done · 1 the server (offline: the operation) refused or failed, its error code printed · 2 bad usage ·
 * 3 not authenticated / not an admin · 4 server unreachable · 5 data directory locked by a server.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, auth: 3, unreachable: 4, locked: 5 } as const

type Output = (text: string) => void
/** Who offline changes are recorded as (online, the server records the token's user). */
const OFFLINE_ADMIN = `posalpro-admin:${process.env.USER ?? 'local'}`
/** The options every command shares (given before or after the command's name). */
export interface Globals {
  url: string
  token?: string
  json?: boolean
  dataDir?: string
  postgresUrl?: string
  tenant?: string
  masterKeyFile?: string
}

const program = new Command()
  .name('posalpro-admin')
  .description('Inspect and repair PosalPro Collab documents through a running server')
  .option('--url <url>', 'server URL', process.env.POSALPRO_URL ?? 'http://127.0.0.1:1234')
  .option('--token <jwt>', 'admin token (default: $POSALPRO_ADMIN_TOKEN)')
  .option('--json', 'print JSON for scripts instead of tables')
  .option('--data-dir <dir>', 'use a stopped server\'s data directory instead of --url (every command but clients)')
  .option('--postgres-url <url>', 'use the PostgreSQL database a server stores in instead of --url (every command but clients)')
  .option('--tenant <tenant>', 'with --data-dir or --postgres-url: the tenant whose documents to read')
  .option('--master-key-file <file>', 'encryption at rest: the store\'s master key (default: $COLLAB_MASTER_KEY_FILE or $COLLAB_MASTER_KEY); also seals exports')
  .exitOverride()

/** The command as typed, without its arguments (`review approve`): what the access audit records. */
const commandLabel = (command: Command): string => {
  const names: string[] = []
  for (let at: Command | null = command; at?.parent; at = at.parent) names.unshift(at.name())
  return names.join(' ')
}

const context = (command: Command): { client: AdminClient; json: boolean; print: Output } => {
  const globals = command.optsWithGlobals<Globals>()
  const token = globals.token ?? process.env.POSALPRO_ADMIN_TOKEN ?? ''
  if (!token) throw new CommanderError(EXIT.usage, 'posalpro.noToken', 'an admin token is needed: --token or POSALPRO_ADMIN_TOKEN')
  return { client: createAdminClient(globals.url, token, commandLabel(command)), json: Boolean(globals.json), print: (text) => process.stdout.write(`${text}\n`) }
}

/** The documents to read: the data directory when given, else the running server. */
const source = async (command: Command): Promise<{ data: DataSource; json: boolean; print: Output }> => {
  const globals = command.optsWithGlobals<Globals>()
  const print: Output = (text) => process.stdout.write(`${text}\n`)
  if (globals.dataDir || globals.postgresUrl) {
    if (globals.dataDir && globals.postgresUrl) throw new CommanderError(EXIT.usage, 'posalpro.twoStores', 'give --data-dir or --postgres-url, not both')
    const where = globals.postgresUrl ? { postgresUrl: globals.postgresUrl } : { dataDir: globals.dataDir! }
    if (!globals.tenant) throw new CommanderError(EXIT.usage, 'posalpro.noTenant', `${globals.postgresUrl ? '--postgres-url' : '--data-dir'} needs --tenant`)
    return { data: await offlineSource({ ...where, masterKey: await cliMasterKey(command) }, globals.tenant, OFFLINE_ADMIN, commandLabel(command)), json: Boolean(globals.json), print }
  }
  const { client, json } = context(command)
  return { data: onlineSource(client), json, print }
}

/** The master key source the CLI was given (flag, else the server's variables), or null. */
const cliMasterKeySource = (command: Command): MasterKeySource | null => {
  const file = command.optsWithGlobals<Globals>().masterKeyFile
  return file ? masterKeyFromFile(file) : masterKeySource({ masterKeyFile: process.env.COLLAB_MASTER_KEY_FILE ?? '', masterKey: process.env.COLLAB_MASTER_KEY ?? '' })
}

/** The master key the CLI was given (the newest, when a file lists several), or null. */
const cliMasterKey = async (command: Command): Promise<Buffer | null> => (await cliMasterKeySource(command)?.load()) ?? null

const reviewRows = (items: readonly ReviewItem[]) =>
  items.map((item) => [item.id, item.status, item.document, item.ruleId, item.proposer.userId, time(item.proposedAt), item.changes.map((c) => `${c.path}=${JSON.stringify(c.proposedValue)}`).join(' ')])
const REVIEW_HEADERS = ['ID', 'STATUS', 'DOCUMENT', 'RULE', 'PROPOSER', 'PROPOSED', 'CHANGES']

const review = program.command('review').description('the review queue')
review
  .command('list')
  .description('review items, oldest first')
  .option('--status <status>', 'pending | approved | rejected | stale')
  .action(async (options: { status?: string }, command: Command) => {
    const { data, json, print } = await source(command)
    const reviews = (await data.listReviews().finally(() => data.close())).filter((item) => !options.status || item.status === options.status)
    print(json ? JSON.stringify(reviews, null, 2) : formatTable(REVIEW_HEADERS, reviewRows(reviews)))
  })
review
  .command('show <id>')
  .description('one review item')
  .action(async (id: string, _options: unknown, command: Command) => {
    const { data, print } = await source(command)
    print(JSON.stringify(await data.getReview(id).finally(() => data.close()), null, 2))
  })
for (const [verb, description] of [
  ['approve', 're-apply the proposed values as an audited server change (or find it stale)'],
  ['reject', 'reject the proposal'],
] as const) {
  const sub = review.command(`${verb} <id>`).description(description)
  if (verb === 'reject') sub.option('--reason <text>', 'why', '')
  sub.action(async (id: string, options: { reason?: string }, command: Command) => {
    const { data, json, print } = await source(command)
    const decision = verb === 'reject' ? { kind: 'reject' as const, reason: options.reason ?? '' } : { kind: 'approve' as const }
    const item = await data.decideReview(id, decision).finally(() => data.close())
    print(json ? JSON.stringify(item, null, 2) : `${item.id}: ${item.status}${item.reason ? ` (${item.reason})` : ''}`)
  })
}

program
  .command('conflicts')
  .description('concurrent overwrites')
  .command('list <document>')
  .description('the conflicts recorded for a document (<type>/<id>)')
  .action(async (name: string, _options: unknown, command: Command) => {
    const { data, json, print } = await source(command)
    const conflicts = await data.conflicts(name).finally(() => data.close())
    const rows = conflicts.map((c) => [time(c.at), c.path, `${c.winner.userId}=${JSON.stringify(c.winner.value)}`, `${c.loser.userId}=${JSON.stringify(c.loser.value)}`])
    print(json ? JSON.stringify(conflicts, null, 2) : formatTable(['AT', 'FIELD', 'WINNER', 'LOSER'], rows))
  })

const docs = program.command('docs').description('documents')
docs
  .command('list')
  .description('documents: title, size, stored updates, last change, open connections')
  .option('--type <type>', 'proposal | customer | content')
  .action(async (options: { type?: string }, command: Command) => {
    const { data, json, print } = await source(command)
    const documents = await data.listDocuments(options.type).finally(() => data.close())
    const rows = documents.map((d) => [d.name, d.type, d.title, String(d.bytes), String(d.storedUpdates), d.lastChange ? time(d.lastChange) : '', String(d.connections)])
    print(json ? JSON.stringify(documents, null, 2) : formatTable(['NAME', 'TYPE', 'TITLE', 'BYTES', 'UPDATES', 'LAST CHANGE', 'CONNECTIONS'], rows))
  })
docs
  .command('show <document>')
  .description('the document as plain JSON (every root type)')
  .action(async (name: string, _options: unknown, command: Command) => {
    const { data, print } = await source(command)
    print(JSON.stringify(await data.showDocument(name).finally(() => data.close()), null, 2))
  })
docs
  .command('history <document>')
  .description('the event log of a document (<type>/<id>), newest last')
  .option('--limit <n>', 'at most n events (the newest)', '50')
  .addOption(new Option('--outcome <outcome>', 'only events with this outcome').choices(['accepted', 'rejected', 'review', 'compensation', 'admin', 'integrity']))
  .action(async (name: string, options: { limit: string; outcome?: string }, command: Command) => {
    const limit = Number(options.limit)
    if (!Number.isInteger(limit) || limit < 1) throw new CommanderError(EXIT.usage, 'posalpro.badLimit', '--limit must be a positive integer')
    const { data, json, print } = await source(command)
    const events = await data.history(name).finally(() => data.close())
    const shown = events.filter((event) => !options.outcome || event.outcome === options.outcome).slice(-limit)
    const rows = shown.map((e) => [String(e.seq), time(e.at), e.userId, e.device ?? '', e.outcome, e.ruleIds.join(','), e.paths.join(',')])
    print(json ? JSON.stringify(shown.map(({ seq, at, userId, device, outcome, ruleIds, paths }) => ({ seq, at, userId, device, outcome, ruleIds, paths })), null, 2) : formatTable(['SEQ', 'TIME', 'USER', 'DEVICE', 'OUTCOME', 'RULES', 'PATHS'], rows))
  })

const progressBar = (done: number, total: number): string => {
  const width = 30
  const filled = Math.round((done / total) * width)
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`
}

const sequence = (text: string): number => {
  if (!/^\d+$/.test(text)) throw new CommanderError(EXIT.usage, 'posalpro.badSeq', `an event sequence number is a positive integer, got "${text}"`)
  return Number(text)
}

/** The document as of event `seq`, as plain JSON. */
const documentAt = async (data: DataSource, name: string, seq: number): Promise<Record<string, unknown>> => {
  const { base, events } = await data.eventLog(name)
  const last = events.at(-1)?.seq ?? base?.seq ?? 0
  if (seq > last) throw new CommanderError(EXIT.usage, 'posalpro.badSeq', `${name} has no event ${seq} (the last is ${last})`)
  if (base && seq < base.seq) throw new CommanderError(EXIT.usage, 'posalpro.badSeq', `event ${seq} is older than the retained history (from ${base.seq})`)
  return documentToJSON(parseDocumentName(name).type, documentAsOf(base, events, seq))
}

docs
  .command('at <document> <seq>')
  .description('the document as of an event (time travel), as plain JSON')
  .action(async (name: string, seq: string, _options: unknown, command: Command) => {
    const { data, print } = await source(command)
    print(JSON.stringify(await documentAt(data, name, sequence(seq)).finally(() => data.close()), null, 2))
  })

docs
  .command('diff <document> <seqA> <seqB>')
  .description('what changed between two events, field by field')
  .action(async (name: string, a: string, b: string, _options: unknown, command: Command) => {
    const { data, json, print } = await source(command)
    const [before, after] = await Promise.all([documentAt(data, name, sequence(a)), documentAt(data, name, sequence(b))]).finally(() => data.close())
    const differences = diffDocuments(before, after)
    const rows = differences.map((d) => [d.path, JSON.stringify(d.before) ?? '—', JSON.stringify(d.after) ?? '—'])
    print(json ? JSON.stringify(differences, null, 2) : formatTable(['FIELD', `AT ${a}`, `AT ${b}`], rows))
  })

docs
  .command('verify [document]')
  .description('stored updates decode, the event log rebuilds the stored state, every field is valid')
  .option('--all', 'every document of the tenant')
  .action(async (name: string | undefined, options: { all?: boolean }, command: Command) => {
    if (!name && !options.all) throw new CommanderError(EXIT.usage, 'posalpro.verifyWhat', 'name a document or pass --all')
    const { data, json, print } = await source(command)
    const names = name ? [name] : (await data.listDocuments()).map((doc) => doc.name)
    const reports = []
    try {
      for (const each of names) reports.push(await data.verify(each))
    } finally {
      await data.close()
    }
    const rows = reports.map((r) => [r.name, r.ok ? 'ok' : 'PROBLEM', String(r.storedUpdates), String(r.events), r.problems.join('; ')])
    print(json ? JSON.stringify(reports, null, 2) : formatTable(['DOCUMENT', 'RESULT', 'UPDATES', 'EVENTS', 'PROBLEMS'], rows))
    if (reports.some((report) => !report.ok)) process.exitCode = EXIT.failed
  })

docs
  .command('export <document>')
  .description('write the document to a file: its Yjs state (base64) and plain JSON')
  .requiredOption('-o, --output <file>', 'where to write')
  .action(async (name: string, options: { output: string }, command: Command) => {
    const { data, print } = await source(command)
    const { content, update } = await data.exportDocument(name).finally(() => data.close())
    const document = parseDocumentName(name)
    const file = { format: 'posalpro-document/1', name: document.name, type: document.type, exportedAt: new Date().toISOString(), content, update: Buffer.from(update).toString('base64') }
    // With a master key an export is sealed like the store (an export is a copy of stored data).
    const masterKey = await cliMasterKey(command)
    await writeFile(options.output, masterKey ? JSON.stringify(sealExport(masterKey, document.name, JSON.stringify(file))) : JSON.stringify(file, null, 2), { mode: 0o600 })
    print(`${document.name} → ${options.output} (${update.byteLength} bytes of Yjs state${masterKey ? ', sealed with the master key' : ''})`)
  })

docs
  .command('import <file>')
  .description('merge an exported document into the document of the same name (or --as another)')
  .option('--as <document>', 'import under another <type>/<id>')
  .action(async (file: string, options: { as?: string }, command: Command) => {
    let exported: { format?: string; name?: string; update?: string }
    try {
      exported = JSON.parse(await readFile(file, 'utf8')) as typeof exported
    } catch (error) {
      throw new CommanderError(EXIT.usage, 'posalpro.badFile', `${file} is not an exported document: ${(error as Error).message}`)
    }
    if (exported.format === SEALED_EXPORT_FORMAT) {
      const masterKey = await cliMasterKey(command)
      if (!masterKey) throw new CommanderError(EXIT.usage, 'posalpro.sealedExport', `${file} is sealed: give the master key it was exported with (--master-key-file)`)
      exported = JSON.parse(openExport(masterKey, exported as SealedExport)) as typeof exported
    }
    if (exported.format !== 'posalpro-document/1' || typeof exported.update !== 'string' || typeof exported.name !== 'string') {
      throw new CommanderError(EXIT.usage, 'posalpro.badFile', `${file} is not a posalpro-document/1 export`)
    }
    const target = parseDocumentName(options.as ?? exported.name)
    if (target.type !== parseDocumentName(exported.name).type) throw new CommanderError(EXIT.usage, 'posalpro.badType', `a ${parseDocumentName(exported.name).type} cannot be imported as a ${target.type}`)
    const { data, print } = await source(command)
    await data.importDocument(target.name, new Uint8Array(Buffer.from(exported.update, 'base64'))).finally(() => data.close())
    print(`${file} → ${target.name}`)
  })

docs
  .command('compact [document]')
  .description('merge each document\'s stored updates into one')
  .option('--all', 'every document of the tenant, with progress')
  .action(async (name: string | undefined, options: { all?: boolean }, command: Command) => {
    if (!name && !options.all) throw new CommanderError(EXIT.usage, 'posalpro.compactWhat', 'name a document or pass --all')
    const { data, print } = await source(command)
    try {
      const names = name ? [name] : (await data.listDocuments()).map((doc) => doc.name)
      for (const [index, each] of names.entries()) {
        await data.compact(each)
        if (names.length > 1) process.stderr.write(`\r${progressBar(index + 1, names.length)} ${each}`.padEnd(80))
      }
      if (names.length > 1) process.stderr.write('\n')
      print(`compacted ${names.length} document${names.length === 1 ? '' : 's'}`)
    } finally {
      await data.close()
    }
  })

docs
  .command('revert <document> <seq>')
  .description('restore the state as of an event, as a new audited change (connected clients receive it live)')
  .action(async (name: string, seq: string, _options: unknown, command: Command) => {
    const document = parseDocumentName(name)
    const { data, json, print } = await source(command)
    const result = await data.revert(document.name, sequence(seq)).finally(() => data.close())
    print(json ? JSON.stringify(result, null, 2) : `${document.name} reverted to event ${result.revertedTo}: ${result.paths.join(', ') || 'nothing to change'}`)
  })

program
  .command('copy-to-postgres')
  .description("copy a stopped server's LevelDB data directory into PostgreSQL, then check every document reads the same in both")
  .requiredOption('--from-data-dir <dir>', 'the LevelDB data directory (its server stopped)')
  .requiredOption('--to-postgres-url <url>', 'the PostgreSQL database (migrations are applied first)')
  .option('--into-non-empty', 'copy even if the database already holds documents')
  .action(async (options: { fromDataDir: string; toPostgresUrl: string; intoNonEmpty?: boolean }, command: Command) => {
    const json = Boolean(command.optsWithGlobals<Globals>().json)
    const atRest = { masterKey: await cliMasterKey(command) }
    const source = await DocumentStore.open(options.fromDataDir, { atRest })
    try {
      const target = await PostgresStorage.open(options.toPostgresUrl, { atRest })
      try {
        const report = await copyLevelDbToPostgres(source, target, {
          intoNonEmpty: Boolean(options.intoNonEmpty),
          onProgress: ({ copied, total, document }) => process.stderr.write(`copied ${copied}/${total} ${document}\n`),
        })
        // The access audit goes with the documents (it is no document's: copied after them, by tenant and time).
        const auditRecords = await copyAuditLog(auditLogFor(source), auditLogFor(target))
        process.stdout.write(
          json
            ? `${JSON.stringify({ ...report, auditRecords })}\n`
            : `copied and verified ${report.documents} documents, ${report.events} events, ${report.reviews} review items, ${report.notifications} notifications\ncopied ${auditRecords} access audit records\n`,
        )
      } finally {
        await target.close()
      }
    } finally {
      await source.close()
    }
  })

const keys = program.command('keys').description('encryption at rest: data key rotation and re-encryption')
keys
  .command('rotate')
  .description("a new data key for the tenant (online: the token's tenant; offline: --tenant, or every tenant with --all-tenants): new records use it at once")
  .option('--all-tenants', 'offline: every tenant')
  .option('--new-master-key-file <file>', 'offline only: re-wrap every data key (and the canary) under this master key; start the server with it afterwards')
  .action(async (options: { allTenants?: boolean; newMasterKeyFile?: string }, command: Command) => {
    const globals = command.optsWithGlobals<Globals>()
    if (!globals.dataDir && !globals.postgresUrl) {
      if (options.newMasterKeyFile || options.allTenants) throw new CommanderError(EXIT.usage, 'posalpro.offlineOnly', '--new-master-key-file and --all-tenants need --data-dir or --postgres-url (the server stopped)')
      const { client, json, print } = context(command)
      const rotated = await client.request<{ tenant: string; keyId: number }>('POST', '/keys/rotate')
      print(json ? JSON.stringify(rotated) : `${rotated.tenant}: new records are sealed with data key #${rotated.keyId}`)
      return
    }
    const store = await openKeyManagedStore(command)
    try {
      if (options.newMasterKeyFile) {
        await auditedKeysAction(store, globals.tenant ?? null, command, async () => store.rewrapMasterKey(await masterKeyFromFile(options.newMasterKeyFile!).load()))
        process.stdout.write('every data key and the canary are wrapped under the new master key: start the server with it\n')
      }
      if (!options.newMasterKeyFile || options.allTenants || globals.tenant) {
        const tenant = options.allTenants ? null : requiredTenant(globals)
        const rotated = await auditedKeysAction(store, tenant, command, () => store.rotateDataKeys(tenant))
        for (const [tenant, id] of Object.entries(rotated)) process.stdout.write(`${tenant}: new records are sealed with data key #${id}\n`)
      }
    } finally {
      await store.close()
    }
  })
keys
  .command('re-encrypt')
  .description('rewrite every record under an older data key with the current one, with progress; resumable (online: in the running server)')
  .option('--all-tenants', 'offline: every tenant')
  .action(async (options: { allTenants?: boolean }, command: Command) => {
    const globals = command.optsWithGlobals<Globals>()
    const show = (progress: ReencryptionProgress) =>
      process.stderr.write(`\r${progressBar(progress.scanned, Math.max(progress.total, 1))} ${progress.scanned}/${progress.total} records, ${progress.rewritten} rewritten`.padEnd(80))
    let finished: ReencryptionProgress
    if (!globals.dataDir && !globals.postgresUrl) {
      const { client } = context(command)
      let status = await client.request<ReencryptionStatus>('POST', '/keys/re-encrypt')
      while (status.running) {
        show(status)
        await new Promise((resolve) => setTimeout(resolve, 250))
        status = await client.request<ReencryptionStatus>('GET', '/keys/re-encrypt')
      }
      if (status.error) throw new AdminApiError(500, status.error.code, `${status.error.message} (run again to resume)`)
      finished = status
    } else {
      const store = await openKeyManagedStore(command)
      try {
        const tenant = options.allTenants ? null : requiredTenant(globals)
        finished = await auditedKeysAction(store, tenant, command, () => reencrypt(store, tenant, show))
      } finally {
        await store.close()
      }
    }
    show(finished)
    process.stderr.write('\n')
    process.stdout.write(`${finished.rewritten} of ${finished.scanned} records rewritten under the current data key; older keys retired\n`)
  })

keys
  .command('status')
  .description("the tenant's data key ids, and where a master-key rotation stands: which key of the master key file the keyring is wrapped under")
  .action(async (_options: unknown, command: Command) => {
    const globals = command.optsWithGlobals<Globals>()
    let status: KeyStatus
    if (!globals.dataDir && !globals.postgresUrl) {
      status = await context(command).client.request<KeyStatus>('GET', '/keys/status')
    } else {
      const store = await openKeyManagedStore(command)
      try {
        status = await new KeyAdministration(store as unknown as DocumentStorage, cliMasterKeySource(command)).keyStatus(requiredTenant(globals))
      } finally {
        await store.close()
      }
    }
    if (globals.json) return void process.stdout.write(`${JSON.stringify(status, null, 2)}\n`)
    const ids = status.dataKeys.map((id) => `#${id}`).join(', ') || 'none yet'
    process.stdout.write(`${status.tenant}: data keys ${ids}${status.dataKeys.length > 1 ? ' (older ones until a re-encryption retires them)' : ''}\n`)
    const master = status.masterKey
    if (master) {
      const where = master.wrappedUnder === null ? 'none of the file\'s keys opens the store' : `wrapped under ${master.wrappedUnder} (key ${master.fileKeys.indexOf(master.wrappedUnder) + 1} of ${master.fileKeys.length} in the file)`
      process.stdout.write(`master key: ${where}${master.rotated && master.fileKeys.length > 1 ? '; rotated: the older keys may be removed from the file' : ''}\n`)
    }
  })

/**
 * An offline key operation, recorded in the store's access audit under its tenant; one on every
 * tenant (--all-tenants, a new master key) under tenant `-`, which no token's tenant can be.
 */
const auditedKeysAction = <T>(store: unknown, tenant: string | null, command: Command, run: () => Promise<T>): Promise<T> =>
  auditedCliAction(store as DocumentStorage, { tenant: tenant ?? UNKNOWN_TENANT, admin: OFFLINE_ADMIN, command: commandLabel(command), document: null }, run)

const requiredTenant = (globals: Globals): string => {
  if (!globals.tenant) throw new CommanderError(EXIT.usage, 'posalpro.noTenant', 'name the tenant (--tenant) or pass --all-tenants')
  return globals.tenant
}

/** The store of --data-dir / --postgres-url, opened with the master key, for key management. */
const openKeyManagedStore = async (command: Command): Promise<KeyManagedStore & { close(): Promise<void>; rewrapMasterKey(key: Buffer): Promise<void> }> => {
  const globals = command.optsWithGlobals<Globals>()
  const [masterKey, ...formerMasterKeys] = (await cliMasterKeySource(command)?.loadAll()) ?? []
  if (!masterKey) throw new CommanderError(EXIT.usage, 'posalpro.noMasterKey', 'key management needs the store\'s master key: --master-key-file or $COLLAB_MASTER_KEY_FILE')
  const where = globals.postgresUrl ? { postgresUrl: globals.postgresUrl, masterKey, formerMasterKeys } : { dataDir: globals.dataDir!, masterKey, formerMasterKeys }
  const store = (await openStoreAt(where)) as unknown as KeyManagedStore & { close(): Promise<void>; rewrapMasterKey(key: Buffer): Promise<void> }
  if (typeof store.rotateDataKeys !== 'function') {
    await store.close()
    throw new CommanderError(EXIT.usage, 'posalpro.keysUnsupported', 'this store does not support key rotation and re-encryption')
  }
  return store
}

registerBackupCommands(program, { usageExit: EXIT.usage, masterKey: cliMasterKey, progressBar })

program
  .command('audit')
  .description('the access audit: who opened which document, refusals, admin and CLI actions')
  .command('report')
  .description('per user and document over a period: accesses (admitted, refused by code), changes, review decisions; JSON adds the raw access records')
  .requiredOption('--from <time>', 'start, ISO 8601 (2026-01-01 or 2026-01-01T08:00:00Z)')
  .requiredOption('--to <time>', 'end, inclusive (a bare date: to the end of that day, UTC)')
  .option('--user <id>', 'only this user')
  .option('--format <format>', 'csv | json (default: json with --json, else csv)')
  .action(async (options: { from: string; to: string; user?: string; format?: string }, command: Command) => {
    const format = options.format ?? (command.optsWithGlobals<Globals>().json ? 'json' : 'csv')
    if (format !== 'csv' && format !== 'json') throw new CommanderError(EXIT.usage, 'posalpro.badFormat', '--format is csv or json')
    let period: { from: number; to: number }
    try {
      period = { from: reportTime('from', options.from), to: reportTime('to', options.to) }
    } catch (error) {
      throw new CommanderError(EXIT.usage, 'posalpro.badTime', (error as Error).message)
    }
    const { data } = await source(command)
    const report = await data.auditReport({ ...period, user: options.user ?? null }).finally(() => data.close())
    process.stdout.write(format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : reportCsv(report))
  })

program
  .command('clients')
  .description('live connections: user, document, since, bytes in/out (online only)')
  .action(async (_options: unknown, command: Command) => {
    const { client, json, print } = context(command)
    type Live = { user: string; role: string; device: string | null; document: string; since: number; bytesIn: number; bytesOut: number }
    const { clients } = await client.request<{ clients: Live[] }>('GET', '/clients')
    const rows = clients.map((c) => [c.user, c.role, c.device ?? '', c.document, time(c.since), String(c.bytesIn), String(c.bytesOut)])
    print(json ? JSON.stringify(clients, null, 2) : formatTable(['USER', 'ROLE', 'DEVICE', 'DOCUMENT', 'SINCE', 'BYTES IN', 'BYTES OUT'], rows))
  })

const run = async (): Promise<number> => {
  try {
    await program.parseAsync(process.argv)
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) return EXIT.ok
      if (error.code.startsWith('posalpro.')) process.stderr.write(`error: ${error.message}\n`)
      return EXIT.usage
    }
    if (error instanceof AdminApiError) {
      process.stderr.write(`error: ${error.code}: ${error.message}\n`)
      if (error.status === 0) return EXIT.unreachable
      return error.status === 401 || error.status === 403 ? EXIT.auth : EXIT.failed
    }
    if (error instanceof Error && 'code' in error && error.code === ErrorCode.DataDirLocked) {
      process.stderr.write(`error: ${error.message}; while the server runs, use --url (and an admin token) instead\n`)
      return EXIT.locked
    }
    if (isCollabError(error)) {
      // Offline the operation refuses here, not the server: the same exit code as online.
      process.stderr.write(`error: ${error.code}: ${error.message}\n`)
      return error.code === ErrorCode.BadDocumentName || error.code === ErrorCode.UnknownDocumentType ? EXIT.usage : EXIT.failed
    }
    if (error instanceof Error && 'code' in error && typeof error.code === 'string' && error.code.startsWith('ERR_')) {
      process.stderr.write(`error: ${error.code}: ${error.message}\n`)
      return EXIT.usage
    }
    throw error
  }
}

process.exitCode = await run()
