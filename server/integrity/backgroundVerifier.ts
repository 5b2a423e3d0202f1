import type { Logger } from 'pino'
import { isDocumentType } from '../../shared/documentName.ts'
import { verifyDocument } from '../admin/documentVerification.ts'
import type { CollabMetrics } from '../observability/metrics.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'

/** A stored document the verifier found a problem in, until a later pass finds it sound. */
export interface IntegrityProblem {
  /** `<type>/<id>` */
  readonly document: string
  /** ms epoch of the check. */
  readonly at: number
  readonly problems: readonly string[]
}

/** What the verifier has found, for one tenant (the admin API's `GET /admin/integrity`). */
export interface IntegrityReport {
  readonly enabled: boolean
  readonly intervalMs: number
  /** ms epoch when the last full pass over every stored document ended, or null. */
  readonly lastPassAt: number | null
  readonly passes: number
  readonly documentsChecked: number
  readonly problems: readonly IntegrityProblem[]
}

export interface BackgroundVerifierOptions {
  readonly store: DocumentStorage
  /** True while the document is loaded in a room here: it is checked when idle, not while edited. */
  readonly isLoaded: (storageName: string) => boolean
  readonly metrics: CollabMetrics
  readonly logger: Logger
  /** One document every this many ms; 0 turns the verifier off. */
  readonly intervalMs: number
}

/**
 * Walks the stored documents one at a time, at a low rate, checking each that is not loaded with
 * the admin `verify` (every stored update decodes and applies, the event log rebuilds the stored
 * state, every field passes its schema). A document with a problem raises
 * `collab_integrity_problems_total{source="verifier"}`, is logged and listed until a later pass finds it sound.
 * A pass reads the list of documents once; documents created meanwhile wait for the next pass.
 */
export class BackgroundVerifier {
  private queue: string[] = []
  private timer: ReturnType<typeof setInterval> | null = null
  private running = false
  private stopped = false
  private readonly found = new Map<string, IntegrityProblem & { readonly tenant: string }>()
  private lastPassAt: number | null = null
  private passes = 0
  private checked = 0

  constructor(private readonly options: BackgroundVerifierOptions) {}

  start(): void {
    if (this.options.intervalMs <= 0 || this.timer) return
    this.timer = setInterval(() => void this.step(), this.options.intervalMs)
    this.timer.unref()
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  report(tenant: string): IntegrityReport {
    return {
      enabled: this.options.intervalMs > 0,
      intervalMs: this.options.intervalMs,
      lastPassAt: this.lastPassAt,
      passes: this.passes,
      documentsChecked: this.checked,
      problems: [...this.found.values()].filter((problem) => problem.tenant === tenant).map(({ document, at, problems }) => ({ document, at, problems })),
    }
  }

  /** Checks the next idle document (starting a new pass when the last one is done). Never overlaps. */
  async step(): Promise<void> {
    if (this.running || this.stopped) return
    this.running = true
    try {
      if (this.queue.length === 0) {
        // Reversed: pop() takes them in name order.
        this.queue = (await this.options.store.documentNames()).sort().reverse()
        if (this.queue.length === 0) return this.passDone()
      }
      const storageName = this.queue.pop()!
      if (!this.options.isLoaded(storageName)) await this.check(storageName)
      if (this.queue.length === 0) this.passDone()
    } catch (error) {
      this.options.logger.warn({ error: (error as Error).message }, 'background verification step failed; retried at the next interval')
    } finally {
      this.running = false
    }
  }

  private passDone(): void {
    this.lastPassAt = Date.now()
    this.passes++
  }

  private async check(storageName: string): Promise<void> {
    const slash = storageName.indexOf('/')
    const tenant = storageName.slice(0, slash)
    const document = storageName.slice(slash + 1)
    const type = document.split('/')[0] ?? ''
    const problems = isDocumentType(type) ? (await verifyDocument(this.options.store, tenant, type, document)).problems : [`"${type}" is not a document type`]
    if (this.stopped) return
    this.checked++
    const { metrics, logger } = this.options
    metrics.verifiedDocuments.inc({ result: problems.length === 0 ? 'sound' : 'problem' })
    if (problems.length === 0) {
      this.found.delete(storageName)
    } else {
      metrics.integrityProblems.inc({ source: 'verifier' })
      logger.error({ document: storageName, problems }, 'background verification found a problem in a stored document')
      this.found.set(storageName, { tenant, document, at: Date.now(), problems })
    }
    metrics.documentsWithProblems.set(this.found.size)
  }
}
