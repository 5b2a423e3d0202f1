import { hkdfSync } from 'node:crypto'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { gcmOpen, gcmSeal, KEY_BYTES } from './aesGcm.ts'

/**
 * CLI exports (`docs export`) under encryption at rest: the file a backup or a hand-over writes is
 * sealed too, with a key derived from the master key (HKDF-SHA256, its own label: an export key
 * opens no stored record and no data key), the document's name as associated data (an export
 * renamed to another document does not open as it). Only a holder of the master key imports it.
 */
export const SEALED_EXPORT_FORMAT = 'posalpro-document-sealed/1'

export interface SealedExport {
  readonly format: typeof SEALED_EXPORT_FORMAT
  readonly name: string
  /** base64: nonce, ciphertext of the plain export's JSON, tag. */
  readonly sealed: string
}

const exportKey = (masterKey: Buffer): Buffer => Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'posalpro export v1', KEY_BYTES))
const aadOf = (name: string) => Buffer.from(`${SEALED_EXPORT_FORMAT}\0${name}`)

export const sealExport = (masterKey: Buffer, name: string, plainJson: string): SealedExport => ({
  format: SEALED_EXPORT_FORMAT,
  name,
  sealed: gcmSeal(exportKey(masterKey), new Uint8Array(0), aadOf(name), Buffer.from(plainJson)).toString('base64'),
})

/** The plain export's JSON; ERR_RECORD_NOT_AUTHENTIC when the key or the name does not match. */
export const openExport = (masterKey: Buffer, file: SealedExport): string => {
  const plain = gcmOpen(exportKey(masterKey), 0, aadOf(file.name), Buffer.from(file.sealed, 'base64'))
  if (!plain) throw new CollabError(ErrorCode.RecordNotAuthentic, `the sealed export of ${file.name} does not open with this master key (another key, or altered)`)
  return plain.toString('utf8')
}
