import { createHash, randomBytes } from 'node:crypto'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { gcmOpen, gcmSeal, KEY_BYTES } from './aesGcm.ts'

/**
 * Envelope keys. Each tenant's records are sealed with a data key of its own (32 random bytes);
 * data keys are stored only wrapped (AES-256-GCM) by the master key, so a new master key is a
 * re-wrap of a few dozen bytes per tenant, not a rewrite of the data, and one tenant's data key
 * opens nothing of another's.
 *
 * Nonces are random (96 bits per record) rather than a counter: a counter must never repeat, which
 * a crash between using and persisting it, a restored backup or two processes on a copied data
 * directory can all break silently — and a repeated GCM nonce leaks the XOR of two plaintexts and
 * the authentication key. Random nonces stay safe as long as one key seals at most 2^32 records
 * (NIST SP 800-38D, collision chance under 2^-32). So each data key counts what it has sealed and
 * a new one is rolled before the budget is reached. The count is persisted ahead of use, a block
 * at a time (RESERVATION_BLOCK): after a crash the count resumes from the reservation, never
 * below what was used.
 */
export const MESSAGES_PER_KEY = 2 ** 32
const RESERVATION_BLOCK = 2 ** 16

/** The keyring as stored: the canary and every data key, wrapped. No secret in it is readable without the master key. */
export interface KeyringState {
  readonly format: 'posalpro-keyring/1'
  /** A known text sealed by the master key: opens only with the right key (checked before anything is read). */
  readonly canary: string
  readonly dataKeys: readonly StoredDataKey[]
}

export interface StoredDataKey {
  readonly tenant: string
  /** Per tenant, counting up: the highest is the one new records are sealed with. */
  readonly id: number
  /** The key sealed by the master key (base64: nonce, ciphertext, tag), bound to tenant and id. */
  readonly wrapped: string
  /** Records this key may have sealed (a reservation: at least what it did seal). */
  readonly reserved: number
}

interface DataKey {
  readonly id: number
  readonly key: Buffer
  used: number
  reserved: number
  /** The reservation as last read from or merged with the store (what other holders' reservations are counted from). */
  base: number
}

const CANARY_TEXT = Buffer.from('posalpro-collab at-rest canary v1')
const CANARY_AAD = Buffer.from('posalpro canary')
const EMPTY = new Uint8Array(0)
const wrapAad = (tenant: string, id: number) => Buffer.from(`posalpro data key\0${tenant}\0${id}`)

export interface KeyringOptions {
  /** Records per data key before a new one is rolled (tests shrink it). Default MESSAGES_PER_KEY. */
  readonly messagesPerKey?: number
}

export class Keyring {
  private readonly tenants = new Map<string, DataKey[]>()
  /** Changes made, and how many of them a save has made durable (see `dirty`). */
  private changes = 0
  private savedChanges = 0
  private readonly messagesPerKey: number

  private constructor(
    private master: Buffer,
    options: KeyringOptions,
  ) {
    this.messagesPerKey = options.messagesPerKey ?? MESSAGES_PER_KEY
  }

  /**
   * The keyring of a store: `state` as stored (null: the store has none yet, a new one is made,
   * dirty). ERR_WRONG_MASTER_KEY when the master key does not open the canary or a data key.
   */
  static open(master: Buffer, state: KeyringState | null, options: KeyringOptions = {}): Keyring {
    const keyring = new Keyring(master, options)
    if (!state) {
      keyring.changes++
      return keyring
    }
    if (!gcmOpen(master, 0, CANARY_AAD, Buffer.from(state.canary, 'base64'))?.equals(CANARY_TEXT)) {
      throw new CollabError(ErrorCode.WrongMasterKey, 'the master key does not open this store (its canary): wrong key; nothing was read or written')
    }
    for (const stored of state.dataKeys) {
      const key = gcmOpen(master, 0, wrapAad(stored.tenant, stored.id), Buffer.from(stored.wrapped, 'base64'))
      if (!key || key.byteLength !== KEY_BYTES) throw new CollabError(ErrorCode.WrongMasterKey, `the master key does not open data key ${stored.tenant}#${stored.id}`)
      keyring.keysOf(stored.tenant).push({ id: stored.id, key, used: stored.reserved, reserved: stored.reserved, base: stored.reserved })
    }
    for (const keys of keyring.tenants.values()) keys.sort((a, b) => a.id - b.id)
    return keyring
  }

  /**
   * Opens `state` with the first of `masterKeys` (newest first) that opens its canary. Opened with
   * an older one, the keyring is re-wrapped under the newest at once (it comes back dirty: the store
   * saves it), so a master key file listing the new key before the old one rotates the master key
   * at the next start or reload without downtime. ERR_WRONG_MASTER_KEY when none opens it.
   */
  static openWithAny(masterKeys: readonly Buffer[], state: KeyringState | null, options: KeyringOptions = {}): Keyring {
    const [newest] = masterKeys
    if (!newest) throw new CollabError(ErrorCode.MasterKeyRequired, 'no master key given')
    for (const [index, key] of masterKeys.entries()) {
      if (state && !Keyring.opensCanary(key, state)) continue
      const keyring = Keyring.open(key, state, options)
      if (index > 0) keyring.rewrap(newest)
      return keyring
    }
    throw new CollabError(
      ErrorCode.WrongMasterKey,
      masterKeys.length === 1
        ? 'the master key does not open this store (its canary): wrong key; nothing was read or written'
        : `none of the ${masterKeys.length} master keys given opens this store (its canary): wrong keys; nothing was read or written`,
    )
  }

  /** Does `master` open the canary of `state` (the key the stored keyring is wrapped under)? */
  static opensCanary(master: Buffer, state: KeyringState): boolean {
    return gcmOpen(master, 0, CANARY_AAD, Buffer.from(state.canary, 'base64'))?.equals(CANARY_TEXT) ?? false
  }

  /**
   * A short name for a master key that reveals nothing of it (a hash prefix): what status reports
   * show, so an operator can tell which key a store is wrapped under without printing keys.
   */
  static fingerprint(master: Buffer): string {
    return createHash('sha256').update('posalpro master key fingerprint\0').update(master).digest('hex').slice(0, 16)
  }

  /** The fingerprint of the master key this keyring is (or will next be saved) wrapped under. */
  get masterFingerprint(): string {
    return Keyring.fingerprint(this.master)
  }

  /**
   * The key to seal one new record of `tenant` with, counted against its budget: a tenant's first
   * record makes its first key; a key at its budget is replaced by a new one. Marks the keyring
   * dirty when the count passes its reservation or a key is made.
   */
  sealingKey(tenant: string): { id: number; key: Buffer } {
    const keys = this.keysOf(tenant)
    let current = keys.at(-1)
    if (!current || current.used >= this.messagesPerKey) current = this.addKey(tenant)
    current.used++
    if (current.used > current.reserved) {
      current.reserved = Math.min(this.messagesPerKey, current.used + RESERVATION_BLOCK)
      this.changes++
    }
    return current
  }

  /** The key a record names; ERR_UNKNOWN_DATA_KEY when the keyring does not hold it. */
  openingKey(tenant: string, id: number): Buffer {
    const found = this.tenants.get(tenant)?.find((key) => key.id === id)
    if (!found) throw new CollabError(ErrorCode.UnknownDataKey, `a stored record of tenant ${tenant} names data key #${id}, which the keyring does not hold`)
    return found.key
  }

  /** The id new records of `tenant` are sealed with, or null before its first record. */
  currentId(tenant: string): number | null {
    return this.tenants.get(tenant)?.at(-1)?.id ?? null
  }

  /** Every tenant with a data key, and the ids of its keys (oldest first). */
  dataKeyIds(): Map<string, number[]> {
    return new Map([...this.tenants].map(([tenant, keys]) => [tenant, keys.map((key) => key.id)]))
  }

  /** A new data key for `tenant` (null: every tenant that has one): new records use it at once; old ones stay readable until re-encrypted. */
  rotateDataKeys(tenant: string | null): Record<string, number> {
    const rotated: Record<string, number> = {}
    for (const each of tenant === null ? [...this.tenants.keys()] : [tenant]) rotated[each] = this.addKey(each).id
    return rotated
  }

  /**
   * Takes in what another holder of the same stored keyring saved since this one was loaded (a
   * store shared by several nodes): its keys this one lacks, and its reservations, added to this
   * one's (both count against one budget). False when both made a key with the same id (two
   * tenants' first keys made at once): they differ, and this holder must reload and seal again.
   * The caller holds the stored keyring locked and saves `state()` next.
   */
  absorb(other: Keyring): boolean {
    for (const [tenant, theirs] of other.tenants) {
      const ours = this.keysOf(tenant)
      for (const key of theirs) {
        const mine = ours.find((each) => each.id === key.id)
        if (!mine) {
          ours.push({ ...key })
          continue
        }
        if (!mine.key.equals(key.key)) return false
        const reservedMeanwhile = key.reserved - mine.base
        if (reservedMeanwhile > 0) {
          mine.reserved = Math.min(this.messagesPerKey, mine.reserved + reservedMeanwhile)
          mine.used = Math.min(this.messagesPerKey, mine.used + reservedMeanwhile)
        }
        mine.base = mine.reserved
      }
      ours.sort((a, b) => a.id - b.id)
    }
    this.changes++
    return true
  }

  /** Does this keyring wrap under `master` (else a save re-wraps)? */
  wrapsUnder(master: Buffer): boolean {
    return this.master.equals(master)
  }

  /** Wraps every data key (and the canary) under a new master key from the next save on. */
  rewrap(master: Buffer): void {
    this.master = master
    this.changes++
  }

  /** Drops the given old keys of a tenant (never its current one): after a re-encryption left no record under them. */
  retire(tenant: string, ids: readonly number[]): void {
    const keys = this.tenants.get(tenant)
    if (!keys) return
    const current = keys.at(-1)
    const kept = keys.filter((key) => key === current || !ids.includes(key.id))
    if (kept.length === keys.length) return
    this.tenants.set(tenant, kept)
    this.changes++
  }

  /** Changed since the last save: the store must persist `state()` before writing what it sealed. */
  get dirty(): boolean {
    return this.changes !== this.savedChanges
  }

  /** The changes `state()` covers now: pass it to `saved` once that state is durable (a change made meanwhile keeps it dirty). */
  get generation(): number {
    return this.changes
  }

  saved(generation: number): void {
    this.savedChanges = Math.max(this.savedChanges, generation)
  }

  /** What to store, wrapped under the current master key. */
  state(): KeyringState {
    const dataKeys: StoredDataKey[] = []
    for (const [tenant, keys] of this.tenants) {
      for (const { id, key, reserved } of keys) {
        dataKeys.push({ tenant, id, reserved, wrapped: gcmSeal(this.master, EMPTY, wrapAad(tenant, id), key).toString('base64') })
      }
    }
    return { format: 'posalpro-keyring/1', canary: gcmSeal(this.master, EMPTY, CANARY_AAD, CANARY_TEXT).toString('base64'), dataKeys }
  }

  private addKey(tenant: string): DataKey {
    const keys = this.keysOf(tenant)
    const added: DataKey = { id: (keys.at(-1)?.id ?? 0) + 1, key: randomBytes(KEY_BYTES), used: 0, reserved: 0, base: 0 }
    keys.push(added)
    this.changes++
    return added
  }

  private keysOf(tenant: string): DataKey[] {
    let keys = this.tenants.get(tenant)
    if (!keys) this.tenants.set(tenant, (keys = []))
    return keys
  }
}

/** A stored keyring read back (JSON), checked for shape; ERR_PERSISTENCE_FAILED when it is not one. */
export const parseKeyringState = (text: string, where: string): KeyringState => {
  const value = JSON.parse(text) as Partial<KeyringState>
  const fine =
    value.format === 'posalpro-keyring/1' &&
    typeof value.canary === 'string' &&
    Array.isArray(value.dataKeys) &&
    value.dataKeys.every((key) => typeof key?.tenant === 'string' && Number.isInteger(key.id) && typeof key.wrapped === 'string' && Number.isInteger(key.reserved))
  if (!fine) throw new CollabError(ErrorCode.PersistenceFailed, `${where} is not a posalpro-keyring/1 keyring`)
  return value as KeyringState
}
