import type { Locator, Page } from 'playwright/test'
import { ALICE, BOB, createDocument, editor, expect, openDocumentPage, signInAs, test, withSharedProposal, type Session } from './fixtures.ts'

/**
 * Free-text fields merge character by character: two people typing in one field at once both keep
 * every character they typed, see the same text, and are told of no conflict.
 */

/** Both type their run at the end of the field at the same time, keystroke by keystroke. */
const typeAtOnce = async (typists: ReadonlyArray<{ page: Page; field: Locator; run: string }>) => {
  for (const { page, field } of typists) {
    await field.click()
    await page.keyboard.press('End')
  }
  await Promise.all(typists.map(({ page, run }) => page.keyboard.type(run, { delay: 40 })))
}

const expectMerged = async (fields: readonly Locator[], start: string, runs: readonly string[]) => {
  await expect(async () => {
    const values = await Promise.all(fields.map((field) => field.inputValue()))
    expect(new Set(values).size, `the pages differ: ${JSON.stringify(values)}`).toBe(1)
    expect(values[0]!.startsWith(start), values[0]).toBe(true)
    for (const run of runs) expect(values[0], `"${run}" is not there whole`).toContain(run)
    expect(values[0]!.length).toBe(start.length + runs.reduce((sum, run) => sum + run.length, 0))
  }).toPass()
}

test('Alice and Bob type in the Title at the same time: both runs are kept, the same everywhere, no conflict', async ({ browser }) => {
  await withSharedProposal(browser, [ALICE, BOB], async (alice, bob, name) => {
    const a = editor(alice.page)
    const b = editor(bob.page)
    await expect(b.title).toHaveValue('Untitled proposal')
    await typeAtOnce([
      { page: alice.page, field: a.title, run: ' A1A2A3' },
      { page: bob.page, field: b.title, run: ' B1B2B3' },
    ])
    await expectMerged([a.title, b.title], 'Untitled proposal', [' A1A2A3', ' B1B2B3'])
    const merged = await a.title.inputValue()
    await expect(a.saveState).toHaveText('Saved')
    await expect(b.saveState).toHaveText('Saved')
    await expect(a.toasts.locator('.toast')).toHaveCount(0)
    await expect(b.toasts.locator('.toast')).toHaveCount(0)
    await alice.page.reload()
    await openDocumentPage(alice, name)
    await expect(editor(alice.page).title).toHaveValue(merged)
    // The heading reads the text root too.
    await expect(alice.page.locator('h1.document-title')).toHaveText(merged)
  })
})

test("Alice and Bob type in a customer's Name at the same time: both runs are kept, no conflict", async ({ browser }) => {
  const sessions: Session[] = []
  try {
    sessions.push(await signInAs(browser, ALICE), await signInAs(browser, BOB))
    const [alice, bob] = sessions as [Session, Session]
    const name = await createDocument(alice, 'customer')
    await openDocumentPage(bob, name)
    const fieldOf = (page: Page) => page.getByLabel('Name', { exact: true })
    await expect(fieldOf(bob.page)).toHaveValue('New customer')
    await typeAtOnce([
      { page: alice.page, field: fieldOf(alice.page), run: ' of Alice' },
      { page: bob.page, field: fieldOf(bob.page), run: ' by Bob' },
    ])
    await expectMerged([fieldOf(alice.page), fieldOf(bob.page)], 'New customer', [' of Alice', ' by Bob'])
    const merged = await fieldOf(alice.page).inputValue()
    await expect(editor(alice.page).saveState).toHaveText('Saved')
    await expect(editor(bob.page).saveState).toHaveText('Saved')
    await expect(editor(alice.page).toasts.locator('.toast')).toHaveCount(0)
    await expect(editor(bob.page).toasts.locator('.toast')).toHaveCount(0)
    await bob.page.reload()
    await openDocumentPage(bob, name)
    await expect(fieldOf(bob.page)).toHaveValue(merged)
  } finally {
    for (const session of sessions) await session.context.close()
  }
})
