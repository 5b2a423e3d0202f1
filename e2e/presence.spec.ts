import type { DocumentHandle } from '../client/browser.ts'
import { expectNoAxeViolations } from './axe.ts'
import { ALICE, BOB, editor, expect, test, withSharedProposal } from './fixtures.ts'

test("another user's selection is shown in their colour, and no colour is refused by the editor binding", async ({ browser }) => {
  await withSharedProposal(browser, [ALICE, BOB], async (alice, bob) => {
    const warnings: string[] = []
    for (const { page } of [alice, bob]) page.on('console', (message) => message.type() === 'warning' && warnings.push(message.text()))
    const a = editor(alice.page)
    const b = editor(bob.page)
    await a.body.click()
    await alice.page.keyboard.type('Select this sentence.')
    await b.body.click()
    await alice.page.keyboard.press('ControlOrMeta+a')

    const selection = bob.page.locator('.ProseMirror-yjs-selection').first()
    await expect(selection).toBeVisible()
    const colour = await selection.evaluate((element) => getComputedStyle(element).backgroundColor)
    expect(colour).not.toBe('rgba(0, 0, 0, 0)')
    // The presence dot and the caret use the same colour as the selection.
    const dot = await bob.page.locator('.presence li[data-user="alice"] .presence-dot').evaluate((element) => getComputedStyle(element).backgroundColor)
    expect(colour.startsWith(dot.replace(/\)$/, '').replace('rgb(', 'rgba('))).toBe(true)
    expect(warnings.filter((text) => text.includes('color'))).toEqual([])
    // The caret's name label (white on the user's colour) is readable.
    await expect(bob.page.locator('.ProseMirror-yjs-cursor', { hasText: 'Alice Editor' })).toBeVisible()
    await expectNoAxeViolations(bob.page, "proposal with another user's caret and selection")
  })
})

test("a user who reconnects is back in the others' presence list without moving the caret", async ({ browser }) => {
  await withSharedProposal(browser, [ALICE, BOB], async (alice, bob) => {
    const bobInAlicesList = alice.page.locator('.presence li[data-user="bob"]')
    await expect(bobInAlicesList).toBeVisible()
    // Bob's periodic awareness renewal is stopped, so only a reconnect can bring him back (the
    // renewal would, after 15 s, hiding a missing re-announcement); a fresh state first, so that
    // Alice does not time him out during the test.
    await bob.page.evaluate(() => {
      const awareness = (window as unknown as { posalpro: { handle: DocumentHandle } }).posalpro.handle.awareness
      clearInterval((awareness as unknown as { _checkInterval: ReturnType<typeof setInterval> })._checkInterval)
      awareness.setLocalState({ ...awareness.getLocalState() })
    })

    // A connection that ends (the server sees it close: it removes Bob's state), then a new one.
    await bob.page.evaluate(() => (window as unknown as { posalpro: { handle: DocumentHandle } }).posalpro.handle.disconnect())
    await expect(editor(bob.page).saveState).toHaveAttribute('data-state', 'offline')
    await expect(bobInAlicesList).toHaveCount(0)

    await bob.page.evaluate(() => (window as unknown as { posalpro: { handle: DocumentHandle } }).posalpro.handle.connect())
    await expect(editor(bob.page).saveState).toHaveText('Saved')
    await expect(bobInAlicesList).toBeVisible()
    await expect(bob.page.locator('.presence li[data-user="alice"]')).toBeVisible()
  })
})
