import { createHash, X509Certificate } from 'node:crypto'
import path from 'node:path'
import { chromium } from 'playwright'
import { spawnServer } from '../shared/testing/serverProcess.ts'
import { tempDir } from '../shared/testing/tempDir.ts'
import { createTestCa } from '../server/tls/testing/testPki.ts'
import { ALICE, BOB, editor, expect, test, withSharedProposal } from './fixtures.ts'

/** The SHA-256 of a certificate's public key (SPKI), base64: what Chromium pins with `--ignore-certificate-errors-spki-list`. */
const spkiPin = (certPem: string): string =>
  createHash('sha256').update(new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' })).digest('base64')

test('the demo app over https/wss against a server that requires MFA: sign-in mints amr, two people co-edit', async () => {
  const dir = await tempDir('posalpro-e2e-tls-')
  const ca = await createTestCa(dir.path, 'e2e-ca')
  const cert = await ca.serverCert('server')
  const server = await spawnServer({
    dataDir: path.join(dir.path, 'data'),
    args: ['--tls-cert', cert.certFile, '--tls-key', cert.keyFile, '--require-mfa'],
  })
  // A browser of its own that trusts exactly this server key (the throwaway CA is not in its store),
  // so the page is a real secure context: service worker, wss, HSTS.
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--ignore-certificate-errors-spki-list=${spkiPin(cert.certPem)}`],
  })
  const serverUrl = `https://127.0.0.1:${server.port}`
  try {
    await withSharedProposal(
      browser,
      [ALICE, BOB],
      async (alice, bob) => {
        await editor(alice.page).title.fill('Signed in with two factors')
        await expect(editor(bob.page).title).toHaveValue('Signed in with two factors')
        await expect(editor(alice.page).saveState).toHaveText('Saved')
        const hsts = await alice.page.evaluate(async () => (await fetch('/healthz')).headers.get('strict-transport-security'))
        expect(hsts).toBe('max-age=31536000')
      },
      { serverUrl },
    )
  } finally {
    await browser.close()
    await server.stop()
    await dir.remove()
  }
})
