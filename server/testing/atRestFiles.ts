import { createHash, randomBytes } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** A fresh master key as base64 (what `openssl rand -base64 32` prints). */
export const newMasterKey = (): string => randomBytes(32).toString('base64')

/** Every file under `directory` (recursively), by path relative to it. */
export const filesUnder = (directory: string): string[] =>
  (readdirSync(directory, { recursive: true }) as string[]).filter((name) => statSync(join(directory, name)).isFile()).sort()

/** The files under `directory` that contain `marker` in UTF-8 or UTF-16 (little or big endian). */
export const filesContaining = (directory: string, marker: string): string[] => {
  const utf16le = Buffer.from(marker, 'utf16le')
  const utf16be = Buffer.from(utf16le).swap16()
  const forms = [Buffer.from(marker, 'utf8'), utf16le, utf16be]
  return filesUnder(directory).filter((name) => {
    let bytes: Buffer
    try {
      bytes = readFileSync(join(directory, name))
    } catch {
      return false // deleted meanwhile (a write-ahead log segment LevelDB caught up with)
    }
    return forms.some((form) => bytes.includes(form))
  })
}

/** SHA-256 of every file under `directory`, by relative path: equal maps mean nothing changed. */
export const hashFiles = (directory: string): Record<string, string> =>
  Object.fromEntries(filesUnder(directory).map((name) => [name, createHash('sha256').update(readFileSync(join(directory, name))).digest('hex')]))
