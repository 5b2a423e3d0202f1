import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

/** AES-256-GCM with a 96-bit nonce and a 128-bit tag: the only construction used at rest. */
export const KEY_BYTES = 32
export const NONCE_BYTES = 12
export const TAG_BYTES = 16

/**
 * Seals `plain` into `[prefix][nonce][ciphertext][tag]` (one buffer, one copy of the plaintext).
 * The prefix is written as is (a record header) and must already be part of `aad` if it is to be
 * authenticated. The nonce is random: see keyring.ts for the message budget that makes this safe.
 */
export const gcmSeal = (key: Uint8Array, prefix: Uint8Array, aad: Uint8Array, plain: Uint8Array): Buffer => {
  const nonce = randomBytes(NONCE_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES })
  cipher.setAAD(aad)
  const out = Buffer.allocUnsafe(prefix.byteLength + NONCE_BYTES + plain.byteLength + TAG_BYTES)
  out.set(prefix, 0)
  nonce.copy(out, prefix.byteLength)
  let offset = prefix.byteLength + NONCE_BYTES
  offset += cipher.update(plain).copy(out, offset)
  offset += cipher.final().copy(out, offset)
  cipher.getAuthTag().copy(out, offset)
  return out
}

/** Opens what gcmSeal made (after `prefixBytes`); null when the tag does not verify (wrong key, AAD or bytes). */
export const gcmOpen = (key: Uint8Array, prefixBytes: number, aad: Uint8Array, sealed: Uint8Array): Buffer | null => {
  if (sealed.byteLength < prefixBytes + NONCE_BYTES + TAG_BYTES) return null
  const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength)
  const nonce = bytes.subarray(prefixBytes, prefixBytes + NONCE_BYTES)
  const tag = bytes.subarray(bytes.byteLength - TAG_BYTES)
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES })
  decipher.setAAD(aad)
  decipher.setAuthTag(tag)
  const body = decipher.update(bytes.subarray(prefixBytes + NONCE_BYTES, bytes.byteLength - TAG_BYTES))
  try {
    const last = decipher.final()
    return last.byteLength === 0 ? body : Buffer.concat([body, last])
  } catch {
    return null
  }
}
