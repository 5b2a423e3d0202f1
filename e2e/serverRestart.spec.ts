import { spawnServer, type ServerProcess } from '../shared/testing/serverProcess.ts'
import { tempDir } from '../shared/testing/tempDir.ts'
import { ALICE, BOB, editor, expect, openDocumentPage, signInAs, test, textWithoutCarets, withSharedProposal } from './fixtures.ts'

test('the server is killed and restarted during editing: both clients reconnect and nothing typed is lost', async ({ browser }) => {
  // A server of its own: killing the shared one would break the other tests.
  const dataDir = await tempDir('posalpro-e2e-restart-')
  let server: ServerProcess = await spawnServer({ dataDir: dataDir.path })
  try {
    await withSharedProposal(
      browser,
      [ALICE, BOB],
      async (alice, bob, name) => {
        const a = editor(alice.page)
        const b = editor(bob.page)
        await a.body.click()
        await alice.page.keyboard.type('Typed before the crash. ')
        await expect.poll(() => textWithoutCarets(b.body)).toContain('Typed before the crash.')

        await server.kill() // SIGKILL: nothing gets to finish
        await alice.page.keyboard.type('Typed while the server was down. ')
        await b.title.fill('Renamed while the server was down')
        await expect(a.saveState).not.toHaveText('Saved')

        // Same port and data directory, as a supervisor would restart it.
        server = await spawnServer({ dataDir: dataDir.path, port: server.port })
        await expect(a.saveState).toHaveText('Saved', { timeout: 30_000 })
        await expect(b.saveState).toHaveText('Saved', { timeout: 30_000 })
        for (const page of [a, b]) {
          await expect.poll(() => textWithoutCarets(page.body)).toContain('Typed before the crash. Typed while the server was down.')
          await expect(page.title).toHaveValue('Renamed while the server was down')
        }

        // And it is on the server's disk: a third browser, fresh (empty IndexedDB), after another restart.
        await server.stop()
        server = await spawnServer({ dataDir: dataDir.path, port: server.port })
        const carol = await signInAs(browser, { userId: 'carol', name: 'Carol', role: 'editor' }, server.httpUrl)
        try {
          await openDocumentPage(carol, name)
          await expect.poll(() => textWithoutCarets(editor(carol.page).body)).toContain('Typed before the crash. Typed while the server was down.')
          await expect(editor(carol.page).title).toHaveValue('Renamed while the server was down')
        } finally {
          await carol.context.close()
        }
      },
      { serverUrl: server.httpUrl },
    )
  } finally {
    await server.stop()
    await dataDir.remove()
  }
})
