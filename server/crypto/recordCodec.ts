import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { gcmOpen, gcmSeal } from './aesGcm.ts'
import type { Keyring } from './keyring.ts'

/**
 * Where a record is stored, as the store's own key: `[kind, '<tenant>/<type>/<id>' or tenant,
 * ...position]` (LevelDB's key arrays; PostgreSQL builds the same array for the row). It is the
 * record's associated data, so a record copied to another document, tenant, kind or position
 * (another update clock, event sequence, review id) does not open there: ERR_RECORD_NOT_AUTHENTIC.
 */
export type RecordLocation = ReadonlyArray<string | number>

/** The tenant a location belongs to: the first segment of its second element. */
export const tenantOf = (location: RecordLocation): string => {
  // Store-wide bookkeeping (the pending-review index marker) belongs to no tenant.
  if (location[0] === 'posalpro_meta') return ''
  const owner = String(location[1] ?? '')
  const slash = owner.indexOf('/')
  return slash === -1 ? owner : owner.slice(0, slash)
}

/** A sealed record: `[version 1][data key id, u32 BE][nonce 12][ciphertext][tag 16]`. */
const VERSION = 1
const HEADER_BYTES = 5

/**
 * Seals and opens stored records with the tenant's data keys (keyring.ts). The stores call it at
 * their boundary (every value written, every value read), so nothing above them changes.
 */
export class RecordCodec {
  constructor(readonly keyring: Keyring) {}

  seal(location: RecordLocation, plain: Uint8Array): Buffer {
    const { id, key } = this.keyring.sealingKey(tenantOf(location))
    const header = Buffer.allocUnsafe(HEADER_BYTES)
    header[0] = VERSION
    header.writeUInt32BE(id, 1)
    return gcmSeal(key, header, aadOf(header, location), plain)
  }

  open(location: RecordLocation, sealed: Uint8Array): Buffer {
    if (sealed.byteLength < HEADER_BYTES || sealed[0] !== VERSION) {
      throw new CollabError(ErrorCode.RecordNotAuthentic, `the record at ${describe(location)} is not a sealed record (stored without encryption, or damaged)`)
    }
    const header = Buffer.from(sealed.buffer, sealed.byteOffset, HEADER_BYTES)
    const key = this.keyring.openingKey(tenantOf(location), header.readUInt32BE(1))
    const plain = gcmOpen(key, HEADER_BYTES, aadOf(header, location), sealed)
    if (!plain) {
      throw new CollabError(
        ErrorCode.RecordNotAuthentic,
        `the record at ${describe(location)} does not decrypt there: altered, or moved from another document, tenant, kind or position`,
      )
    }
    return plain
  }

  /** The data key id a sealed record names (null: not a sealed record). */
  keyIdOf(sealed: Uint8Array): number | null {
    if (sealed.byteLength < HEADER_BYTES || sealed[0] !== VERSION) return null
    return Buffer.from(sealed.buffer, sealed.byteOffset, HEADER_BYTES).readUInt32BE(1)
  }

  /** Is the record sealed with its tenant's current data key (else `keys re-encrypt` rewrites it)? */
  isCurrent(location: RecordLocation, sealed: Uint8Array): boolean {
    return this.keyIdOf(sealed) === this.keyring.currentId(tenantOf(location))
  }
}

const aadOf = (header: Uint8Array, location: RecordLocation): Buffer => Buffer.concat([header, Buffer.from(JSON.stringify(location))])

const describe = (location: RecordLocation): string => location.join(' ')
