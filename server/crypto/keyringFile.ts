import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { parseKeyringState, type KeyringState } from './keyring.ts'

/**
 * A LevelDB store's keyring: `keyring.json` in its data directory, beside (not inside) the LevelDB.
 * Outside, so the master key is checked against the canary before LevelDB is even opened: opening
 * LevelDB rewrites its own files (manifest, info log, recovered log), and a start refused for a
 * wrong or missing key must leave every file as it was.
 *
 * Written synchronously and atomically (temporary file, fsync, rename) before any record sealed
 * with a key it adds reaches the write-ahead log: a record never exists without its key. It changes
 * only when a key is added, rotated, retired or re-wrapped, or a key's count passes its reservation.
 */
export const KEYRING_FILE = 'keyring.json'

export const readKeyringFile = (directory: string): KeyringState | null => {
  const path = join(directory, KEYRING_FILE)
  if (!existsSync(path)) return null
  return parseKeyringState(readFileSync(path, 'utf8'), path)
}

export const writeKeyringFile = (directory: string, state: KeyringState): void =>
  writeFileAtomically(join(directory, KEYRING_FILE), JSON.stringify(state, null, 2))

/** Replaces `path` with `text` all at once (a crash leaves the old file or the new one), synced. */
export const writeFileAtomically = (path: string, text: string): void => {
  const temporary = `${path}.tmp`
  const fd = openSync(temporary, 'w', 0o600)
  try {
    const bytes = Buffer.from(text)
    let written = 0
    while (written < bytes.byteLength) written += writeSync(fd, bytes, written)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(temporary, path)
  const dir = openSync(dirname(path), 'r')
  try {
    fsyncSync(dir)
  } finally {
    closeSync(dir)
  }
}
