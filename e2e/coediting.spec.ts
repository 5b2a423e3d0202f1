import { ALICE, BOB, editor, expect, test, textWithoutCarets, withSharedProposal } from './fixtures.ts'

test('two users co-edit title and body live, and see each other (caret, name, presence)', async ({ browser }, testInfo) => {
  await withSharedProposal(browser, [ALICE, BOB], async (alice, bob) => {
    const a = editor(alice.page)
    const b = editor(bob.page)

    // The new document's first values reached Bob.
    await expect(b.title).toHaveValue('Untitled proposal')

    await a.title.fill('Fleet renewal 2027')
    await expect(b.title).toHaveValue('Fleet renewal 2027')

    await a.body.click()
    await alice.page.keyboard.type('Dear customer, ')
    await expect.poll(() => textWithoutCarets(b.body)).toContain('Dear customer,')
    await b.body.click()
    await bob.page.keyboard.press('End')
    await bob.page.keyboard.type('thank you for your interest.')
    await expect.poll(() => textWithoutCarets(a.body)).toContain('Dear customer, thank you for your interest.')

    // Presence lists both; each sees the other's caret labelled with the name.
    await expect(alice.page.locator('.presence li[data-user="bob"]')).toContainText('Bob Manager')
    await expect(bob.page.locator('.presence li[data-user="alice"]')).toContainText('Alice Editor')
    await expect(alice.page.locator('.ProseMirror-yjs-cursor', { hasText: 'Bob Manager' })).toBeVisible()
    await expect(bob.page.locator('.ProseMirror-yjs-cursor', { hasText: 'Alice Editor' })).toBeVisible()

    await expect(a.saveState).toHaveText('Saved')
    await expect(b.saveState).toHaveText('Saved')

    // The artifact README points to: the editor with two users.
    const screenshot = await alice.page.screenshot({ path: testInfo.outputPath('two-users-editing.png'), fullPage: true })
    await testInfo.attach('two-users-editing', { body: screenshot, contentType: 'image/png' })
  })
})
