import type pg from 'pg'
import { CollabError, ErrorCode, isCollabError } from '../../../shared/errors.ts'
import { openRecordCodec, type AtRestOptions } from '../../crypto/atRest.ts'
import { Keyring, parseKeyringState, type KeyringState } from '../../crypto/keyring.ts'
import { RecordCodec } from '../../crypto/recordCodec.ts'
import { KeyringConflict, RowSealer } from './sealedRows.ts'
import { inTransaction } from './transaction.ts'

/** The keyring as one node loaded it: its codec, the row's version and its key generation then. */
export interface LoadedKeyring {
  readonly codec: RecordCodec | null
  version: number
  readonly generation: number
}

/**
 * The keyring of a PostgreSQL store, shared by every node on the database (`crypto_keyring`, one
 * row), each node holding it in memory.
 *
 * Two counters on the row. `version` rises with every save, a tenant's first key and a passed
 * reservation included: a save expects the version it read, so nodes never overwrite each other's
 * keys (the loser reloads and seals again). `key_generation` rises only when the set of keys new
 * records must use changes — a rotation, a retirement — and that is what every node must see at
 * once: each sealing write transaction reads it first under `FOR KEY SHARE`, and one that finds it
 * changed rolls back, reloads and seals again. A rotation or retirement takes the row `FOR
 * UPDATE`, which waits for the writes holding the share lock and holds back new ones until it
 * commits, so
 * - from the rotation's commit on, no node commits a record sealed with the key it replaced, and
 * - no node commits a record under a key being retired (its check would wait, then fail).
 * A reservation does not raise the generation: writers are not sent to reload for it (each reload
 * costs a save of its own, and nodes would take turns raising it without end).
 *
 * A node that opens a record under a key it has not loaded (another node made the tenant's first
 * key, or rotated) reloads the keyring once before failing (the store's reads do that).
 */
export class SharedKeyring {
  /** What the store's reads open with: the keyring as last loaded. */
  readonly sealer = new RowSealer(() => this.loaded.codec)
  private masterKeys: readonly Buffer[]

  private constructor(
    private loaded: LoadedKeyring,
    private readonly options: AtRestOptions | undefined,
  ) {
    this.masterKeys = options?.masterKey ? [options.masterKey, ...(options.formerMasterKeys ?? [])] : []
  }

  get encrypted(): boolean {
    return this.loaded.codec !== null
  }

  /**
   * Reads the keyring and checks the master key against it before anything else happens to the
   * database (ERR_MASTER_KEY_REQUIRED, ERR_WRONG_MASTER_KEY, ERR_STORE_NOT_ENCRYPTED). Call it
   * before the migrations: a refused start changes nothing.
   */
  static async open(pool: pg.Pool, options: AtRestOptions | undefined, where: string): Promise<SharedKeyring> {
    const stored = await readKeyring(pool)
    const codec = await openRecordCodec(options, stored?.state ?? null, where, async () => {
      const { rows: tables } = await pool.query<{ present: boolean }>("SELECT to_regclass('document_epochs') IS NOT NULL AS present")
      if (!tables[0]?.present) return false
      const { rows } = await pool.query<{ used: boolean }>('SELECT EXISTS (SELECT 1 FROM document_epochs) AS used')
      return rows[0]?.used ?? false
    })
    return new SharedKeyring({ codec, version: stored?.version ?? 0, generation: stored?.generation ?? 0 }, options)
  }

  /**
   * After the migrations: the first encrypted start saves its keyring (the canary) at once, and a
   * keyring opened with an older master key is saved re-wrapped under the newest.
   */
  async saveOpened(pool: pg.Pool): Promise<void> {
    const { codec, version } = this.loaded
    if (!codec?.keyring.dirty) return
    const generation = codec.keyring.generation
    const state = JSON.stringify(codec.keyring.state())
    const { rowCount } =
      version === 0
        ? await pool.query('INSERT INTO crypto_keyring (id, version, state) VALUES (1, 1, $1) ON CONFLICT DO NOTHING', [state])
        : await pool.query('UPDATE crypto_keyring SET state = $1, version = version + 1 WHERE id = 1 AND version = $2', [state, version])
    // Another node saved first: its keyring is the one (a re-wrap still pending rides on the next save).
    if (rowCount === 0) return this.reload(pool)
    this.loaded.version = version + 1
    codec.keyring.saved(generation)
  }

  /** The keyring a write transaction seals with, fixed for its whole run (and a sealer bound to it). */
  pin(): { loaded: LoadedKeyring; sealer: RowSealer } {
    const loaded = this.loaded
    return { loaded, sealer: new RowSealer(() => loaded.codec) }
  }

  /**
   * First thing in a sealing write transaction: the row's key generation under a share lock held
   * to the commit. Changed since `loaded`: KeyringConflict (the caller reloads and runs again).
   */
  async check(client: pg.PoolClient, loaded: LoadedKeyring): Promise<void> {
    if (!loaded.codec) return
    const { rows } = await client.query<{ key_generation: string }>('SELECT key_generation FROM crypto_keyring WHERE id = 1 FOR KEY SHARE')
    if (Number(rows[0]?.key_generation ?? 0) !== loaded.generation) throw new KeyringConflict('the data keys were rotated or retired')
  }

  /**
   * Inside a write's transaction, after it sealed its rows: saves the keyring when sealing changed
   * it (a tenant's first key, a passed reservation). The row is locked for the save (`FOR NO KEY
   * UPDATE`: savers take turns, writers holding the share lock do not wait); when another node
   * saved since this one loaded, what it saved is merged in (its keys, its reservations), so
   * nodes do not send each other to reload and save in turn. Two nodes that made the same key id
   * at once: KeyringConflict. Returns what to run once committed.
   */
  async saveIn(client: pg.PoolClient, loaded: LoadedKeyring): Promise<(() => void) | null> {
    const keyring = loaded.codec?.keyring
    if (!keyring?.dirty) return null
    const { rows } = await client.query<{ state: unknown; version: string }>('SELECT state, version FROM crypto_keyring WHERE id = 1 FOR NO KEY UPDATE')
    const stored = rows[0]
    if (!stored) throw new KeyringConflict('the keyring is gone')
    let version = Number(stored.version)
    if (version !== loaded.version) {
      const theirs = await this.openStored(parseKeyringState(JSON.stringify(stored.state), 'crypto_keyring'))
      if (!keyring.absorb(theirs)) throw new KeyringConflict('another node made the same data key at once')
    }
    // Never back to an older master key: a node started before a master-key rotation saves under the newest it knows.
    if (!keyring.wrapsUnder(this.masterKeys[0]!)) keyring.rewrap(this.masterKeys[0]!)
    const generation = keyring.generation
    await client.query('UPDATE crypto_keyring SET state = $1, version = version + 1 WHERE id = 1', [JSON.stringify(keyring.state())])
    version++
    return () => {
      loaded.version = Math.max(loaded.version, version)
      keyring.saved(generation)
    }
  }

  /** Another node changed the keyring: take its version (its keys, its reservations; ours unused are dropped). */
  async reload(pool: pg.Pool): Promise<void> {
    const stored = await readKeyring(pool)
    if (!stored || this.masterKeys.length === 0) return
    const keyring = await this.openStored(stored.state)
    this.loaded = { codec: new RecordCodec(keyring), version: stored.version, generation: stored.generation }
  }

  /** Each tenant's current data key id, as the database holds them now. */
  async currentKeyIds(pool: pg.Pool): Promise<Record<string, number>> {
    await this.reload(pool)
    const ids: Record<string, number> = {}
    for (const [tenant, keys] of this.codecOrFail().keyring.dataKeyIds()) ids[tenant] = keys.at(-1)!
    return ids
  }

  /** Every data key id of `tenant` the database holds, oldest first (the last seals new rows). */
  async dataKeyIds(pool: pg.Pool, tenant: string): Promise<number[]> {
    await this.reload(pool)
    return this.codecOrFail().keyring.dataKeyIds().get(tenant) ?? []
  }

  /** A new data key for `tenant` (null: every tenant): every node's next write uses it. */
  rotate(pool: pg.Pool, tenant: string | null): Promise<Record<string, number>> {
    return this.change(pool, 'rotate data keys', (keyring) => keyring.rotateDataKeys(tenant), { newGeneration: true })
  }

  /** Drops every key below its tenant's target (a re-encryption pass left no row under them). */
  async retireBelow(pool: pg.Pool, targets: Readonly<Record<string, number>>): Promise<void> {
    await this.change(
      pool,
      'retire data keys',
      (keyring) => {
        const ids = keyring.dataKeyIds()
        for (const [tenant, target] of Object.entries(targets)) keyring.retire(tenant, (ids.get(tenant) ?? []).filter((id) => id < target))
      },
      { newGeneration: true },
    )
  }

  /**
   * Online master-key rotation: `keys` (newest first, the master key file as it is now) must hold
   * a key that opens the stored keyring, else ERR_WRONG_MASTER_KEY and nothing changes. The keyring
   * is re-wrapped under the newest at once when it is not already, and from then on this node
   * opens with these keys. Other nodes need nothing: their data keys stay as they are, and the
   * first save they attempt reloads the keyring, re-reading their own master key file if it is
   * wrapped under a key they were not started with.
   */
  async adoptMasterKeys(pool: pg.Pool, keys: readonly Buffer[]): Promise<void> {
    this.codecOrFail()
    await this.change(pool, 'rotate the master key', () => {}, { newGeneration: false, keys })
    this.masterKeys = keys
  }

  /** Offline `keys rotate --new-master-key-file`: the keyring re-wrapped under `key` (opened with this node's keys). */
  rewrap(pool: pg.Pool, key: Buffer): Promise<void> {
    return this.adoptMasterKeys(pool, [key, ...this.masterKeys])
  }

  /** Which key the stored keyring is wrapped under, by fingerprint (null: none of `keys` opens it). */
  async wrappedUnder(pool: pg.Pool, keys: readonly Buffer[]): Promise<string | null> {
    const stored = await readKeyring(pool)
    const opening = stored ? keys.find((key) => Keyring.opensCanary(key, stored.state)) : undefined
    return opening ? Keyring.fingerprint(opening) : null
  }

  codecOrFail(): RecordCodec {
    if (!this.loaded.codec) throw new CollabError(ErrorCode.MasterKeyRequired, 'the PostgreSQL store is not encrypted at rest: there are no keys to rotate')
    return this.loaded.codec
  }

  /**
   * A change to the keys every node must see: the row locked `FOR UPDATE` (after the writes that
   * checked it, before any that has not), the keyring read as stored, changed, saved with a new
   * version (and, for a rotation or retirement, a new key generation). Nothing is saved when the
   * change changed nothing.
   */
  private async change<T>(
    pool: pg.Pool,
    label: string,
    change: (keyring: Keyring) => T,
    { newGeneration, keys = this.masterKeys }: { newGeneration: boolean; keys?: readonly Buffer[] },
  ): Promise<T> {
    this.codecOrFail()
    for (let attempt = 1; ; attempt++) {
      try {
        const { result, loaded } = await inTransaction(pool, label, async (client) => {
          const { rows } = await client.query<{ state: unknown; version: string; key_generation: string }>(
            'SELECT state, version, key_generation FROM crypto_keyring WHERE id = 1 FOR UPDATE',
          )
          const row = rows[0]
          if (!row) throw new CollabError(ErrorCode.MasterKeyRequired, 'the PostgreSQL store has no keyring yet')
          const keyring = Keyring.openWithAny(keys, parseKeyringState(JSON.stringify(row.state), 'crypto_keyring'), this.options)
          const result = change(keyring)
          let version = Number(row.version)
          let generation = Number(row.key_generation)
          if (keyring.dirty) {
            const changes = keyring.generation
            await client.query('UPDATE crypto_keyring SET state = $1, version = version + 1, key_generation = key_generation + $2 WHERE id = 1', [
              JSON.stringify(keyring.state()),
              newGeneration ? 1 : 0,
            ])
            keyring.saved(changes)
            version++
            if (newGeneration) generation++
          }
          return { result, loaded: { codec: new RecordCodec(keyring), version, generation } }
        })
        this.loaded = loaded
        return result
      } catch (error) {
        // Two writers upgrading their locks at once: PostgreSQL ends one (deadlock), which runs again.
        if (attempt >= 5 || !isCollabError(error) || !error.message.includes('40P01')) throw error
      }
    }
  }

  /** Opens a stored keyring with this node's master keys; wrapped under one it lacks, its key source is read again once. */
  private async openStored(state: KeyringState): Promise<Keyring> {
    try {
      return Keyring.openWithAny(this.masterKeys, state, this.options)
    } catch (error) {
      const reread = this.options?.rereadMasterKeys
      if (!reread || !isCollabError(error) || error.code !== ErrorCode.WrongMasterKey) throw error
      const keys = await reread()
      const keyring = Keyring.openWithAny(keys, state, this.options)
      this.masterKeys = keys
      return keyring
    }
  }
}

const readKeyring = async (pool: pg.Pool): Promise<{ state: KeyringState; version: number; generation: number } | null> => {
  const { rows: exists } = await pool.query<{ present: boolean }>("SELECT to_regclass('crypto_keyring') IS NOT NULL AS present")
  if (!exists[0]?.present) return null
  // to_jsonb: the key generation column comes with a later migration than the table, and the keyring is read before migrations run.
  const { rows } = await pool.query<{ state: unknown; version: string; generation: string | null }>(
    "SELECT state, version, to_jsonb(k) ->> 'key_generation' AS generation FROM crypto_keyring k WHERE id = 1",
  )
  if (!rows[0]) return null
  return { state: parseKeyringState(JSON.stringify(rows[0].state), 'crypto_keyring'), version: Number(rows[0].version), generation: Number(rows[0].generation ?? 0) }
}
