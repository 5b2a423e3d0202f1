import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { Keyring, type KeyringOptions, type KeyringState } from './keyring.ts'
import { RecordCodec } from './recordCodec.ts'

/** What a store is told about encryption at rest when it opens: the master key, or null (off). */
export interface AtRestOptions extends KeyringOptions {
  readonly masterKey: Buffer | null
  /**
   * Older master keys that may still open the store (newest first, after `masterKey`): the rest of
   * the master key file during a rotation. A store opened with one is re-wrapped under `masterKey`.
   */
  readonly formerMasterKeys?: readonly Buffer[]
  /**
   * Reads the configured keys again (the master key file): a store shared by several nodes whose
   * keyring another node re-wrapped under a key this one was not started with asks it once.
   */
  readonly rereadMasterKeys?: () => Promise<readonly Buffer[]>
}

/**
 * The codec a store seals its records with, from its stored keyring and the configured master
 * key, or null when encryption is off. Refuses, before anything is read or written:
 * ERR_MASTER_KEY_REQUIRED when the store is encrypted and no key is given, ERR_WRONG_MASTER_KEY
 * when the key does not open its canary, ERR_STORE_NOT_ENCRYPTED when a key is given for a store
 * that already holds plain data (`hasPlainData` is asked only then). A new keyring (the store's
 * first encrypted start) comes back dirty: the store saves it, canary included, before any record.
 */
export const openRecordCodec = async (
  options: AtRestOptions | undefined,
  stored: KeyringState | null,
  where: string,
  hasPlainData: () => Promise<boolean>,
): Promise<RecordCodec | null> => {
  const masterKey = options?.masterKey ?? null
  if (!masterKey) {
    if (stored) throw new CollabError(ErrorCode.MasterKeyRequired, `${where} is encrypted at rest: give its master key (--master-key-file or COLLAB_MASTER_KEY_FILE); nothing was read or written`)
    return null
  }
  if (!stored && (await hasPlainData())) {
    throw new CollabError(ErrorCode.StoreNotEncrypted, `${where} already holds data stored without encryption: it cannot be opened with a master key`)
  }
  return new RecordCodec(Keyring.openWithAny([masterKey, ...(options?.formerMasterKeys ?? [])], stored, options))
}
