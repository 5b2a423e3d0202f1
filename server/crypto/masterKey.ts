import { readFile } from 'node:fs/promises'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { KEY_BYTES } from './aesGcm.ts'

/**
 * Where the master key comes from. Today a file or an environment variable; a KMS or HSM can
 * supply it later behind the same interface (it only has to hand over 32 bytes once, at start).
 * The master key only wraps the data keys (keyring.ts): it never encrypts a record itself.
 */
export interface MasterKeySource {
  /** For logs and errors: where the key comes from, never the key. */
  readonly description: string
  load(): Promise<Buffer>
}

/** 32 bytes as base64 (what `openssl rand -base64 32` prints), surrounding whitespace ignored. */
export const parseMasterKey = (text: string, where: string): Buffer => {
  const trimmed = text.trim()
  const key = /^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : Buffer.alloc(0)
  if (key.byteLength !== KEY_BYTES) {
    throw new CollabError(ErrorCode.BadMasterKey, `the master key in ${where} must be ${KEY_BYTES} bytes as base64 (openssl rand -base64 32)`)
  }
  return key
}

export const masterKeyFromFile = (path: string): MasterKeySource => ({
  description: `file ${path}`,
  async load() {
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (error) {
      throw new CollabError(ErrorCode.BadMasterKey, `cannot read the master key file ${path}: ${(error as Error).message}`)
    }
    return parseMasterKey(text, `file ${path}`)
  },
})

export const masterKeyFromText = (text: string, description: string): MasterKeySource => ({
  description,
  load: async () => parseMasterKey(text, description),
})

/** The configured source (file first), or null: encryption at rest is off. */
export const masterKeySource = (config: { readonly masterKeyFile: string; readonly masterKey: string }): MasterKeySource | null => {
  if (config.masterKeyFile) return masterKeyFromFile(config.masterKeyFile)
  if (config.masterKey) return masterKeyFromText(config.masterKey, 'COLLAB_MASTER_KEY')
  return null
}
