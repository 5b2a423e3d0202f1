import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

/** A fresh directory under the OS temp dir; `remove()` deletes it with everything in it. */
export const tempDir = async (prefix = 'posalpro-'): Promise<{ path: string; remove(): Promise<void> }> => {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix))
  return { path: dir, remove: () => rm(dir, { recursive: true, force: true }) }
}
