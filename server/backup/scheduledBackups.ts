import { createWriteStream } from 'node:fs'
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Gauge, type Registry } from 'prom-client'
import type { Logger } from '../observability/logger.ts'
import type { DocumentStore } from '../persistence/documentStore.ts'
import { backupOfRunningStore } from './storeBackup.ts'

export interface ScheduledBackupOptions {
  readonly directory: string
  readonly intervalMs: number
  /** Backups older than this are deleted after each successful one (the newest is always kept). */
  readonly retentionMs: number
  readonly registry: Registry
  readonly logger: Logger
}

/** `posalpro-backup-20261203T181500123Z.ppbak`: the time it was taken, sortable, no ':' (Windows, rsync). */
const FILE_PATTERN = /^posalpro-backup-(\d{8}T\d{9}Z)\.ppbak$/
const fileName = (at: Date): string => `posalpro-backup-${at.toISOString().replace(/[-:.]/g, '')}.ppbak`
const timeOfName = (name: string): number | null => {
  const stamp = FILE_PATTERN.exec(name)?.[1]
  if (!stamp) return null
  const iso = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}.${stamp.slice(15, 18)}Z`
  const time = Date.parse(iso)
  return Number.isNaN(time) ? null : time
}

/**
 * Backups taken by the server itself, every `intervalMs`, into `directory`, with retention. A
 * backup is written under a temporary name and renamed once complete, so the directory only ever
 * holds whole backups. The metrics say when the last one succeeded and failed, how long it took
 * and how big it was, and the interval, so an alert can tell a backup that is overdue.
 */
export class ScheduledBackups {
  private readonly timer: NodeJS.Timeout
  private running: Promise<void> | null = null
  private readonly lastSuccess: Gauge
  private readonly lastFailure: Gauge
  private readonly duration: Gauge
  private readonly bytes: Gauge

  constructor(
    private readonly store: DocumentStore,
    private readonly options: ScheduledBackupOptions,
  ) {
    const registers = [options.registry]
    this.lastSuccess = new Gauge({ name: 'collab_backup_last_success_timestamp_seconds', help: 'When the last scheduled backup completed (0: none yet since start)', registers })
    this.lastFailure = new Gauge({ name: 'collab_backup_last_failure_timestamp_seconds', help: 'When the last scheduled backup failed (0: none since start)', registers })
    this.duration = new Gauge({ name: 'collab_backup_duration_seconds', help: 'How long the last successful backup took', registers })
    this.bytes = new Gauge({ name: 'collab_backup_bytes', help: 'Size of the last successful backup file', registers })
    new Gauge({ name: 'collab_backup_interval_seconds', help: 'The configured backup interval (alerts compare the last success to it)', registers }).set(options.intervalMs / 1000)
    this.timer = setInterval(() => void this.runOnce(), options.intervalMs)
    this.timer.unref()
    void this.resumeFromDirectory()
  }

  /**
   * After a restart the age of the newest backup already there is what counts (an alert on
   * backups older than twice the interval must not fire, nor be silenced, by the restart); with
   * none there at all, one is taken now rather than an interval later.
   */
  private async resumeFromDirectory(): Promise<void> {
    const names = await readdir(this.options.directory).catch(() => [])
    // A backup cut short by a crash or a stop: never a whole backup, only disk taken.
    for (const name of names) if (name.endsWith('.ppbak.partial') && FILE_PATTERN.test(name.slice(0, -'.partial'.length))) await rm(join(this.options.directory, name), { force: true })
    const newest = Math.max(-1, ...names.map((name) => timeOfName(name) ?? -1))
    if (newest >= 0) this.lastSuccess.set(newest / 1000)
    else await this.runOnce()
  }

  /** Takes one backup now (unless one is running: then waits for it). Never throws: failures are logged and counted. */
  runOnce(): Promise<void> {
    this.running ??= this.backup().finally(() => {
      this.running = null
    })
    return this.running
  }

  /** No new backup starts; a running one completes. */
  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.running
  }

  private async backup(): Promise<void> {
    const startedAt = new Date()
    const { directory } = this.options
    const path = join(directory, fileName(startedAt))
    const partial = `${path}.partial`
    try {
      await mkdir(directory, { recursive: true })
      await pipeline(backupOfRunningStore(this.store, { tenant: null }), createWriteStream(partial, { mode: 0o600 }))
      await rename(partial, path)
      const { size } = await stat(path)
      const seconds = (Date.now() - startedAt.getTime()) / 1000
      this.lastSuccess.set(Date.now() / 1000)
      this.duration.set(seconds)
      this.bytes.set(size)
      this.options.logger.info({ file: path, bytes: size, seconds }, 'backup written')
      await this.prune(startedAt.getTime() - this.options.retentionMs, path)
    } catch (error) {
      await rm(partial, { force: true }).catch(() => {})
      this.lastFailure.set(Date.now() / 1000)
      this.options.logger.error({ err: error, file: path }, 'scheduled backup failed')
    }
  }

  /** Deletes backups taken before `cutoff` (by the time in their name), never `keep`. */
  private async prune(cutoff: number, keep: string): Promise<void> {
    for (const name of await readdir(this.options.directory)) {
      const time = timeOfName(name)
      if (time === null || time >= cutoff || join(this.options.directory, name) === keep) continue
      await rm(join(this.options.directory, name), { force: true })
      this.options.logger.info({ file: name }, 'backup past its retention deleted')
    }
  }
}

export { fileName as backupFileName }
