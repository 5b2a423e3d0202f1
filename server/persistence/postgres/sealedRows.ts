import { CollabError, ErrorCode } from '../../../shared/errors.ts'
import type { RecordCodec, RecordLocation } from '../../crypto/recordCodec.ts'

/**
 * Encryption at rest on PostgreSQL: the values of every row sealed like LevelDB's (recordCodec.ts),
 * the row's identity as associated data (the same key arrays the LevelDB store uses), and the
 * keyring in `crypto_keyring` (sharedKeyring.ts). Bytes columns hold the sealed bytes; JSON columns
 * hold `{"sealed": "<base64>"}`; columns that queries need (document, tenant, sequence numbers,
 * time, a review's status) stay as they are. Without a master key every function is the identity.
 *
 * A sealer seals with the codec `codecOf` gives: the store's reads use the keyring as last loaded;
 * a write transaction pins the one it checked against the database (sharedKeyring.ts), so a reload
 * by another operation meanwhile never changes the keys its rows are sealed with.
 */
export class RowSealer {
  constructor(private readonly codecOf: () => RecordCodec | null) {}

  get encrypted(): boolean {
    return this.codecOf() !== null
  }

  sealBytes(location: RecordLocation, bytes: Uint8Array): Uint8Array {
    const codec = this.codecOf()
    return codec ? codec.seal(location, bytes) : bytes
  }

  openBytes(location: RecordLocation, bytes: Uint8Array): Uint8Array {
    const codec = this.codecOf()
    return codec ? new Uint8Array(codec.open(location, bytes)) : bytes
  }

  /** A JSON column's text. */
  sealJson(location: RecordLocation, value: unknown): string {
    const json = JSON.stringify(value)
    const codec = this.codecOf()
    return codec ? JSON.stringify({ sealed: codec.seal(location, Buffer.from(json)).toString('base64') }) : json
  }

  openJson<T>(location: RecordLocation, stored: unknown): T {
    const codec = this.codecOf()
    if (!codec) return stored as T
    const sealed = (stored as { sealed?: unknown } | null)?.sealed
    if (typeof sealed !== 'string') throw new CollabError(ErrorCode.RecordNotAuthentic, `the row at ${location.join(' ')} is not sealed`)
    return JSON.parse(codec.open(location, Buffer.from(sealed, 'base64')).toString('utf8')) as T
  }

  /** A text column (a client's owner): sealed as base64. */
  sealText(location: RecordLocation, value: string | null): string | null {
    const codec = this.codecOf()
    return codec ? codec.seal(location, Buffer.from(JSON.stringify(value))).toString('base64') : value
  }

  openText(location: RecordLocation, stored: string | null): string | null {
    const codec = this.codecOf()
    if (!codec) return stored
    if (stored === null) throw new CollabError(ErrorCode.RecordNotAuthentic, `the row at ${location.join(' ')} is not sealed`)
    return JSON.parse(codec.open(location, Buffer.from(stored, 'base64')).toString('utf8')) as string | null
  }
}

/** The keyring in the database is not the one this transaction sealed with: reload it and run the transaction again. */
export class KeyringConflict extends Error {
  constructor(why = 'another node saved the keyring first') {
    super(why)
  }
}
