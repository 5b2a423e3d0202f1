import { access } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawnServer } from '../shared/testing/serverProcess.ts'
import { tempDir } from '../shared/testing/tempDir.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** Starts the shared server for the run; tests find it through E2E_HTTP_URL (workers inherit env). */
export default async function globalSetup(): Promise<() => Promise<void>> {
  try {
    await access(path.join(root, 'dist/app/app.js'))
  } catch {
    throw new Error('the demo app is not built: run `npm run build` (npm run test:e2e does)')
  }
  const dataDir = await tempDir('posalpro-e2e-')
  const server = await spawnServer({ dataDir: dataDir.path })
  process.env.E2E_HTTP_URL = server.httpUrl
  return async () => {
    await server.stop()
    await dataDir.remove()
  }
}
