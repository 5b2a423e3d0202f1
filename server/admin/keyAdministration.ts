import { CollabError, ErrorCode } from '../../shared/errors.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import { reencrypt, type KeyManagedStore, type ReencryptionProgress } from '../persistence/reencryption.ts'
import { Keyring } from '../crypto/keyring.ts'
import type { MasterKeySource } from '../crypto/masterKey.ts'
import { adoptMasterKeysOnLevelDb, levelDbDataKeyIds, levelDbWrappedUnder, type RewrappableStore } from '../persistence/levelDbMasterKey.ts'

export interface ReencryptionStatus extends ReencryptionProgress {
  readonly running: boolean
  /** Why the last run stopped early (its cursor is kept: starting again resumes it). */
  readonly error: { readonly code: string; readonly message: string } | null
}

/** Where the master key rotation stands, by fingerprint (keyring.ts: a hash prefix, never the key). */
export interface MasterKeyStatus {
  /** The keys the master key file holds now, newest first. */
  readonly fileKeys: readonly string[]
  /** The key the stored keyring is wrapped under (null: none of the file's keys opens it). */
  readonly wrappedUnder: string | null
  /** Wrapped under the file's newest key: an older key may be removed from the file (every node's). */
  readonly rotated: boolean
}

export interface KeyStatus {
  readonly tenant: string
  /** The tenant's data key ids, oldest first: the last seals new records; more than one until a re-encryption retires the rest. */
  readonly dataKeys: readonly number[]
  readonly masterKey: MasterKeyStatus | null
  readonly reencryption: ReencryptionStatus | null
}

/** The stores' master-key operations (LevelDB: levelDbMasterKey.ts; PostgreSQL: sharedKeyring.ts). */
interface MasterKeyedStore {
  adoptMasterKeys(keys: readonly Buffer[]): Promise<void>
  masterKeyWrappedUnder(keys: readonly Buffer[]): Promise<string | null>
}

/**
 * Key rotation on the running server, for the admin API: the server holds the store (LevelDB
 * allows one process), so rotation and re-encryption run here, between the server's own writes,
 * without downtime. Scoped to the admin's tenant like every admin route: a tenant's admin rotates
 * and re-encrypts that tenant's data only. At most one pass per tenant runs at a time.
 */
export class KeyAdministration {
  private readonly runs = new Map<string, { status: ReencryptionStatus; done: Promise<void> }>()

  /** One master-key reload at a time, in order: two SIGHUPs in a row end with the file as it is last. */
  private reloading: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly store: DocumentStorage,
    /** The configured master key source (null: encryption at rest is off). */
    private readonly masterKeys: MasterKeySource | null = null,
  ) {}

  /**
   * Online master-key rotation (SIGHUP, or the admin API): reads the master key file again and,
   * when one of its keys opens the store, re-wraps the keyring under its first (newest) key. A file
   * that cannot be read or parsed (ERR_BAD_MASTER_KEY) or holds no key that opens the store
   * (ERR_WRONG_MASTER_KEY) changes nothing: the server keeps its keys and runs on.
   */
  reloadMasterKey(): Promise<MasterKeyStatus> {
    const run = this.reloading.then(async () => {
      const source = this.masterKeys
      if (!source) throw new CollabError(ErrorCode.MasterKeyRequired, 'encryption at rest is off: there is no master key to rotate')
      const keys = await source.loadAll()
      await this.masterKeyed().adoptMasterKeys(keys)
      return this.masterKeyStatusFor(keys)
    })
    this.reloading = run.catch(() => {})
    return run
  }

  /** The tenant's data keys, the master key's rotation and the tenant's running pass. */
  async keyStatus(tenant: string): Promise<KeyStatus> {
    const ids = await this.managed().currentKeyIds()
    const dataKeys = await this.dataKeyIdsOf(tenant, ids[tenant])
    return {
      tenant,
      dataKeys,
      masterKey: this.masterKeys ? await this.masterKeyStatusFor(await this.masterKeys.loadAll()) : null,
      reencryption: this.status(tenant),
    }
  }

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

  private async masterKeyStatusFor(keys: readonly Buffer[]): Promise<MasterKeyStatus> {
    const fileKeys = keys.map((key) => Keyring.fingerprint(key))
    const wrappedUnder = await this.masterKeyed().masterKeyWrappedUnder(keys)
    return { fileKeys, wrappedUnder, rotated: wrappedUnder !== null && wrappedUnder === fileKeys[0] }
  }

  /** Every data key id of the tenant the store holds (the current one last). */
  private async dataKeyIdsOf(tenant: string, current: number | undefined): Promise<number[]> {
    const store = this.store as Partial<{ dataKeyIds(tenant: string): Promise<number[]> }> & Partial<RewrappableStore>
    if (typeof store.dataKeyIds === 'function') return store.dataKeyIds(tenant)
    if (typeof store.location === 'string' && typeof store.rewrapMasterKey === 'function') return levelDbDataKeyIds(store.location, tenant)
    return current === undefined ? [] : [current]
  }

  private masterKeyed(): MasterKeyedStore {
    const store = this.store as Partial<MasterKeyedStore> & Partial<RewrappableStore>
    if (typeof store.adoptMasterKeys === 'function' && typeof store.masterKeyWrappedUnder === 'function') return store as MasterKeyedStore
    if (typeof store.rewrapMasterKey === 'function' && typeof store.location === 'string') {
      const levelDb = store as RewrappableStore
      return { adoptMasterKeys: (keys) => adoptMasterKeysOnLevelDb(levelDb, keys), masterKeyWrappedUnder: async (keys) => levelDbWrappedUnder(levelDb.location, keys) }
    }
    throw new CollabError(ErrorCode.MasterKeyRequired, 'this store does not support master-key rotation')
  }

  private managed(): KeyManagedStore {
    const store = this.store as Partial<KeyManagedStore>
    if (typeof store.rotateDataKeys !== 'function') throw new CollabError(ErrorCode.MasterKeyRequired, 'this store does not support key rotation')
    return store as KeyManagedStore
  }
}
