import { CollabError, ErrorCode } from '../../shared/errors.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import { reencrypt, type KeyManagedStore, type ReencryptionProgress } from '../persistence/reencryption.ts'

export interface ReencryptionStatus extends ReencryptionProgress {
  readonly running: boolean
  /** Why the last run stopped early (its cursor is kept: starting again resumes it). */
  readonly error: { readonly code: string; readonly message: string } | null
}

/**
 * Key rotation on the running server, for the admin API: the server holds the store (LevelDB
 * allows one process), so rotation and re-encryption run here, between the server's own writes,
 * without downtime. Scoped to the admin's tenant like every admin route: a tenant's admin rotates
 * and re-encrypts that tenant's data only. At most one pass per tenant runs at a time.
 */
export class KeyAdministration {
  private readonly runs = new Map<string, { status: ReencryptionStatus; done: Promise<void> }>()

  constructor(private readonly store: DocumentStorage) {}

  /** A new data key for the tenant: its new records are sealed with it at once. */
  async rotate(tenant: string): Promise<{ tenant: string; keyId: number }> {
    const rotated = await this.managed().rotateDataKeys(tenant)
    return { tenant, keyId: rotated[tenant]! }
  }

  /** Starts (or, when one runs, reports) the tenant's re-encryption pass; resumes a stopped one. */
  startReencryption(tenant: string): ReencryptionStatus {
    const running = this.runs.get(tenant)
    if (running?.status.running) return running.status
    const store = this.managed()
    const entry: { status: ReencryptionStatus; done: Promise<void> } = {
      status: { tenant, scanned: 0, total: 0, rewritten: 0, done: false, running: true, error: null },
      done: Promise.resolve(),
    }
    entry.done = reencrypt(store, tenant, (progress) => (entry.status = { ...progress, running: !progress.done, error: null })).then(
      () => {},
      (error: unknown) => {
        const code = error instanceof CollabError ? error.code : ErrorCode.PersistenceFailed
        entry.status = { ...entry.status, running: false, error: { code, message: (error as Error).message } }
      },
    )
    this.runs.set(tenant, entry)
    return entry.status
  }

  status(tenant: string): ReencryptionStatus | null {
    return this.runs.get(tenant)?.status ?? null
  }

  /** Waits for running passes (the server stops only after them; their cursors make them resumable anyway). */
  async settle(): Promise<void> {
    await Promise.all([...this.runs.values()].map((run) => run.done))
  }

  private managed(): KeyManagedStore {
    const store = this.store as Partial<KeyManagedStore>
    if (typeof store.rotateDataKeys !== 'function') throw new CollabError(ErrorCode.MasterKeyRequired, 'this store does not support key rotation')
    return store as KeyManagedStore
  }
}
