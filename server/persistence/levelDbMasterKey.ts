import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { Keyring } from '../crypto/keyring.ts'
import { readKeyringFile } from '../crypto/keyringFile.ts'

/** What the LevelDB store offers for an online master-key rotation (documentStore.ts). */
export interface RewrappableStore {
  readonly location: string
  rewrapMasterKey(masterKey: Buffer): Promise<void>
}

/**
 * Online master-key rotation on LevelDB: `keys` (newest first, the master key file as it is now)
 * must hold a key that opens the keyring file, else ERR_WRONG_MASTER_KEY and nothing is written;
 * then the keyring is re-wrapped under the newest (one atomic file write) unless it already is.
 * The data keys in memory stay as they are: nothing else changes, no write waits.
 */
export const adoptMasterKeysOnLevelDb = async (store: RewrappableStore, keys: readonly Buffer[]): Promise<void> => {
  const stored = readKeyringFile(store.location)
  if (!stored) throw new CollabError(ErrorCode.MasterKeyRequired, `${store.location} is not encrypted at rest: there is no master key to rotate`)
  // Opens (checks every wrapped data key) or throws ERR_WRONG_MASTER_KEY: the proof the file holds the store's key.
  Keyring.openWithAny(keys, stored)
  if (!Keyring.opensCanary(keys[0]!, stored)) await store.rewrapMasterKey(keys[0]!)
}

/** The fingerprint of the key among `keys` the keyring file is wrapped under (null: none, or no keyring). */
export const levelDbWrappedUnder = (location: string, keys: readonly Buffer[]): string | null => {
  const stored = readKeyringFile(location)
  const opening = stored ? keys.find((key) => Keyring.opensCanary(key, stored)) : undefined
  return opening ? Keyring.fingerprint(opening) : null
}

/** The tenant's data key ids in the keyring file, oldest first (ids are not secret: they are stored in the clear). */
export const levelDbDataKeyIds = (location: string, tenant: string): number[] =>
  (readKeyringFile(location)?.dataKeys ?? [])
    .filter((key) => key.tenant === tenant)
    .map((key) => key.id)
    .sort((a, b) => a - b)
