import path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'
import { LOCAL_STORE_CONTRACT } from '../client/testing/localStoreContractCases.ts'
import { expect, test } from './fixtures.ts'

/**
 * The LocalStore contract (the same cases the LevelDB store passes in Node) against the IndexedDB
 * store (y-indexeddb), in real Chromium. The cases are bundled into a page served on a routed
 * origin: IndexedDB needs a real origin, and no server is involved.
 */
const here = path.dirname(fileURLToPath(import.meta.url))
const ORIGIN = 'http://local-store.test'
let bundle = ''

test.beforeAll(async () => {
  const result = await esbuild.build({
    entryPoints: [path.join(here, 'harness/localStoreHarness.ts')],
    bundle: true,
    format: 'esm',
    write: false,
    target: 'es2022',
  })
  bundle = result.outputFiles[0]!.text
})

test.describe('LocalStore contract: IndexedDB (y-indexeddb) in Chromium', () => {
  for (const contractCase of LOCAL_STORE_CONTRACT) {
    test(contractCase.name, async ({ page }) => {
      await page.route(`${ORIGIN}/**`, (route) => {
        const isScript = route.request().url().endsWith('/harness.js')
        return route.fulfill(
          isScript
            ? { contentType: 'text/javascript', body: bundle }
            : { contentType: 'text/html', body: '<!doctype html><script type="module" src="/harness.js"></script>' },
        )
      })
      await page.goto(`${ORIGIN}/`)
      await page.waitForFunction(() => 'runLocalStoreCase' in window)
      const failure = await page.evaluate(async (name) => {
        try {
          await (window as unknown as { runLocalStoreCase: (name: string) => Promise<void> }).runLocalStoreCase(name)
          return null
        } catch (error) {
          return error instanceof Error ? `${error.message}\n${error.stack}` : String(error)
        }
      }, contractCase.name)
      expect(failure).toBeNull()
    })
  }
})
