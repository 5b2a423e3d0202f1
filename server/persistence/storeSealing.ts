import { CollabError, ErrorCode } from '../../shared/errors.ts'
import type { RecordCodec } from '../crypto/recordCodec.ts'
import type { Keyring } from '../crypto/keyring.ts'
import { writeKeyringFile } from '../crypto/keyringFile.ts'
import { sealOps } from './sealedLevelDb.ts'
import type { LogOp, LogRecord } from './writeAheadLog.ts'

/**
 * Encryption at rest for the LevelDB store: the codec that seals every value written (LevelDB and
 * the write-ahead log) with its tenant's data key, the keyring file saved before any record that
 * needs a key it added, and the keys written while a re-encryption rewrites records of no document
 * (so it never puts back an older value over a newer one). Without a master key, `codec` is null
 * and records pass as they are.
 */
export class StoreSealing {
  /**
   * While a re-encryption rewrites records of no document (reviews, notifications): the keys
   * written meanwhile (see `whileTrackingWrites`).
   */
  private touched: Set<string> | null = null

  constructor(
    private readonly location: string,
    public codec: RecordCodec | null,
  ) {}

  /** A logged write with its values sealed, the keyring saved first if that changed it. */
  sealRecord(record: LogRecord): LogRecord {
    if (!this.codec) return record
    const ops = sealOps(this.codec, record.ops)
    this.beforeSealedWrite(ops)
    return { ...record, ops }
  }

  /** Sealed values are about to be written: the keyring first (a key they need), and the keys for a running re-encryption. */
  beforeSealedWrite(ops: readonly LogOp[]): void {
    this.saveKeyring()
    if (this.touched) for (const op of ops) this.touched.add(JSON.stringify(op.key))
  }

  /** Saves the keyring when it changed (a new key, a passed reservation): before the records it seals are written. */
  saveKeyring(): void {
    const keyring = this.codec?.keyring
    if (!keyring?.dirty) return
    const generation = keyring.generation
    writeKeyringFile(this.location, keyring.state())
    keyring.saved(generation)
  }

  /** Runs `operation` with the keys of every sealed write meanwhile collected in the set it is given. */
  async whileTrackingWrites<T>(operation: (touched: ReadonlySet<string>) => Promise<T>): Promise<T> {
    const touched = new Set<string>()
    this.touched = touched
    try {
      return await operation(touched)
    } finally {
      this.touched = null
    }
  }

  get keyring(): Keyring {
    return this.codecOrFail().keyring
  }

  codecOrFail(): RecordCodec {
    if (!this.codec) throw new CollabError(ErrorCode.MasterKeyRequired, `${this.location} is not encrypted at rest: there are no keys to rotate`)
    return this.codec
  }
}
