import type pg from 'pg'
import { CollabError, ErrorCode } from '../../../shared/errors.ts'
import { openRecordCodec, type AtRestOptions } from '../../crypto/atRest.ts'
import { Keyring, parseKeyringState, type KeyringState } from '../../crypto/keyring.ts'
import { RecordCodec, type RecordLocation } from '../../crypto/recordCodec.ts'

/**
 * Encryption at rest on PostgreSQL: the values of every row sealed like LevelDB's (recordCodec.ts),
 * the row's identity as associated data (the same key arrays the LevelDB store uses), and the
 * keyring in `crypto_keyring`. Bytes columns hold the sealed bytes; JSON columns hold
 * `{"sealed": "<base64>"}`; columns that queries need (document, tenant, sequence numbers, time,
 * a review's status) stay as they are. Without a master key every function is the identity.
 */
export class RowSealer {
  private constructor(
    private codec: RecordCodec | null,
    private version: number,
    private readonly options: AtRestOptions | undefined,
  ) {}

  get encrypted(): boolean {
    return this.codec !== null
  }

  /**
   * Reads the keyring and checks the master key against it before anything else happens to the
   * database (ERR_MASTER_KEY_REQUIRED, ERR_WRONG_MASTER_KEY, ERR_STORE_NOT_ENCRYPTED). Call it
   * before the migrations: a refused start changes nothing.
   */
  static async open(pool: pg.Pool, options: AtRestOptions | undefined, where: string): Promise<RowSealer> {
    const stored = await readKeyring(pool)
    const codec = await openRecordCodec(options, stored?.state ?? null, where, async () => {
      const { rows: tables } = await pool.query<{ present: boolean }>("SELECT to_regclass('document_epochs') IS NOT NULL AS present")
      if (!tables[0]?.present) return false
      const { rows } = await pool.query<{ used: boolean }>('SELECT EXISTS (SELECT 1 FROM document_epochs) AS used')
      return rows[0]?.used ?? false
    })
    return new RowSealer(codec, stored?.version ?? 0, options)
  }

  /** The first encrypted start saves its keyring (the canary) at once; after the migrations. */
  async saveNew(pool: pg.Pool): Promise<void> {
    if (!this.codec?.keyring.dirty || this.version !== 0) return
    const generation = this.codec.keyring.generation
    const { rowCount } = await pool.query('INSERT INTO crypto_keyring (id, version, state) VALUES (1, 1, $1) ON CONFLICT DO NOTHING', [JSON.stringify(this.codec.keyring.state())])
    if (rowCount === 0) return this.reload(pool) // another node started first: its keyring is the one
    this.version = 1
    this.codec.keyring.saved(generation)
  }

  sealBytes(location: RecordLocation, bytes: Uint8Array): Uint8Array {
    return this.codec ? this.codec.seal(location, bytes) : bytes
  }

  openBytes(location: RecordLocation, bytes: Uint8Array): Uint8Array {
    return this.codec ? new Uint8Array(this.codec.open(location, bytes)) : bytes
  }

  /** A JSON column's text. */
  sealJson(location: RecordLocation, value: unknown): string {
    const json = JSON.stringify(value)
    return this.codec ? JSON.stringify({ sealed: this.codec.seal(location, Buffer.from(json)).toString('base64') }) : json
  }

  openJson<T>(location: RecordLocation, stored: unknown): T {
    if (!this.codec) return stored as T
    const sealed = (stored as { sealed?: unknown } | null)?.sealed
    if (typeof sealed !== 'string') throw new CollabError(ErrorCode.RecordNotAuthentic, `the row at ${location.join(' ')} is not sealed`)
    return JSON.parse(this.codec.open(location, Buffer.from(sealed, 'base64')).toString('utf8')) as T
  }

  /** A text column (a client's owner): sealed as base64. */
  sealText(location: RecordLocation, value: string | null): string | null {
    return this.codec ? this.codec.seal(location, Buffer.from(JSON.stringify(value))).toString('base64') : value
  }

  openText(location: RecordLocation, stored: string | null): string | null {
    if (!this.codec) return stored
    if (stored === null) throw new CollabError(ErrorCode.RecordNotAuthentic, `the row at ${location.join(' ')} is not sealed`)
    return JSON.parse(this.codec.open(location, Buffer.from(stored, 'base64')).toString('utf8')) as string | null
  }

  /**
   * Inside a write's transaction, after it sealed its rows: saves the keyring when sealing changed
   * it (a tenant's first key, a passed reservation), expecting the version it read. Another node
   * saved first: KeyringConflict (the transaction rolls back; `sealedWrite` reloads and retries).
   */
  async saveIn(client: pg.PoolClient): Promise<(() => void) | null> {
    const keyring = this.codec?.keyring
    if (!keyring?.dirty) return null
    const generation = keyring.generation
    const { rowCount } = await client.query('UPDATE crypto_keyring SET state = $1, version = version + 1 WHERE id = 1 AND version = $2', [
      JSON.stringify(keyring.state()),
      this.version,
    ])
    if (rowCount === 0) throw new KeyringConflict()
    const version = this.version + 1
    return () => {
      this.version = Math.max(this.version, version)
      keyring.saved(generation)
    }
  }

  /** Another node changed the keyring: take its version (its keys, its reservations; ours unused are dropped). */
  async reload(pool: pg.Pool): Promise<void> {
    const stored = await readKeyring(pool)
    if (!stored || !this.options?.masterKey) return
    this.codec = new RecordCodec(Keyring.open(this.options.masterKey, stored.state, this.options))
    this.version = stored.version
  }
}

export class KeyringConflict extends Error {
  constructor() {
    super('another node saved the keyring first')
  }
}

const readKeyring = async (pool: pg.Pool): Promise<{ state: KeyringState; version: number } | null> => {
  const { rows: exists } = await pool.query<{ present: boolean }>("SELECT to_regclass('crypto_keyring') IS NOT NULL AS present")
  if (!exists[0]?.present) return null
  const { rows } = await pool.query<{ state: unknown; version: string }>('SELECT state, version FROM crypto_keyring WHERE id = 1')
  if (!rows[0]) return null
  return { state: parseKeyringState(JSON.stringify(rows[0].state), 'crypto_keyring'), version: Number(rows[0].version) }
}
