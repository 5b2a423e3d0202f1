import { ALICE, BOB, editor, expect, test, textWithoutCarets, withSharedProposal } from './fixtures.ts'

test('offline: edits survive a reload without network (IndexedDB, service worker) and reach the other user when back online', async ({ browser }) => {
  await withSharedProposal(browser, [ALICE, BOB], async (alice, bob) => {
    const a = editor(alice.page)
    const b = editor(bob.page)
    await expect(a.saveState).toHaveText('Saved')
    // The service worker has cached the app shell once it controls the page (it claims at once).
    await alice.page.waitForFunction(() => navigator.serviceWorker.controller !== null)

    await alice.context.setOffline(true)
    await expect(a.saveState).toHaveAttribute('data-state', 'offline')
    await a.title.fill('Written on the train')
    await a.body.click()
    await alice.page.keyboard.type('Offline paragraph.')
    // The indicator says "kept" only once the last keystroke is in IndexedDB: reloading at once loses nothing.
    await expect(a.saveState).toHaveText(/^Offline — \d+ changes? kept on this device$/)

    // Reload with no network: the page comes from the service worker, the document from IndexedDB.
    await alice.page.reload()
    await expect(a.title).toHaveValue('Written on the train')
    await expect.poll(() => textWithoutCarets(a.body)).toContain('Offline paragraph.')
    await expect(a.saveState).toHaveText(/^Offline — \d+ changes? kept on this device$/)
    // Bob has seen none of it.
    await expect(b.title).toHaveValue('Untitled proposal')

    await alice.context.setOffline(false)
    await expect(b.title).toHaveValue('Written on the train')
    await expect.poll(() => textWithoutCarets(b.body)).toContain('Offline paragraph.')
    await expect(a.saveState).toHaveText('Saved')
  })
})
