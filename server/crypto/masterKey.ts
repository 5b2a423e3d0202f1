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
  /** The newest key (what seals: the one the keyring is wrapped under). */
  load(): Promise<Buffer>
  /**
   * Every key the source holds, newest first: during a master-key rotation the file lists the new
   * key first and the old one after it, so a store still wrapped under the old one opens (and is
   * re-wrapped under the new one at once). Read again on every reload (SIGHUP).
   */
  loadAll(): Promise<Buffer[]>
}

/** 32 bytes as base64 (what `openssl rand -base64 32` prints), surrounding whitespace ignored. */
export const parseMasterKey = (text: string, where: string): Buffer => parseMasterKeys(text, where)[0]!

/**
 * One or more keys, one per line, newest first (blank lines and `#` comments ignored): each 32
 * bytes as base64. ERR_BAD_MASTER_KEY when a line is not one, or there is none.
 */
export const parseMasterKeys = (text: string, where: string): Buffer[] => {
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
  const keys = lines.map((line) => (/^[A-Za-z0-9+/]+={0,2}$/.test(line) ? Buffer.from(line, 'base64') : Buffer.alloc(0)))
  if (keys.length === 0 || keys.some((key) => key.byteLength !== KEY_BYTES)) {
    throw new CollabError(
      ErrorCode.BadMasterKey,
      `the master key in ${where} must be ${KEY_BYTES} bytes as base64 (openssl rand -base64 32); during a rotation, one key per line, newest first`,
    )
  }
  return keys
}

export const masterKeyFromFile = (path: string): MasterKeySource => {
  const loadAll = async () => {
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (error) {
      throw new CollabError(ErrorCode.BadMasterKey, `cannot read the master key file ${path}: ${(error as Error).message}`)
    }
    return parseMasterKeys(text, `file ${path}`)
  }
  return { description: `file ${path}`, loadAll, load: async () => (await loadAll())[0]! }
}

export const masterKeyFromText = (text: string, description: string): MasterKeySource => ({
  description,
  load: async () => parseMasterKey(text, description),
  loadAll: async () => parseMasterKeys(text, description),
})

/** The configured source (file first), or null: encryption at rest is off. */
export const masterKeySource = (config: { readonly masterKeyFile: string; readonly masterKey: string }): MasterKeySource | null => {
  if (config.masterKeyFile) return masterKeyFromFile(config.masterKeyFile)
  if (config.masterKey) return masterKeyFromText(config.masterKey, 'COLLAB_MASTER_KEY')
  return null
}
