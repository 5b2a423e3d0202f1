import type { DocumentHandle } from '../client/browser.ts'
import { expectNoAxeViolations } from './axe.ts'
import { ALICE, VERA, editor, expect, test, textWithoutCarets, withSharedProposal } from './fixtures.ts'

test('a viewer sees a read-only editor, cannot change anything, and still sees live changes', async ({ browser }) => {
  await withSharedProposal(browser, [ALICE, VERA], async (alice, vera) => {
    const a = editor(alice.page)
    const v = editor(vera.page)
    await a.title.fill('Visible to viewers')
    await a.body.click()
    await alice.page.keyboard.type('Read me.')

    await expect(vera.page.getByRole('note')).toHaveText('Read-only: you are signed in as a viewer.')
    await expect(v.title).toHaveValue('Visible to viewers')
    for (const field of [v.title, v.value, vera.page.getByLabel('Customer'), vera.page.getByLabel('Due date')]) await expect(field).toBeDisabled()
    await expect(v.status.getByRole('button')).toHaveCount(0)
    await expect(v.body).toHaveAttribute('contenteditable', 'false')
    await expect(vera.page.getByRole('toolbar')).toHaveCount(0)
    await expectNoAxeViolations(vera.page, 'read-only proposal')

    // Typing into the text does nothing.
    await expect.poll(() => textWithoutCarets(v.body)).toBe('Read me.')
    await v.body.click()
    await vera.page.keyboard.type('viewer was here')
    await expect.poll(() => textWithoutCarets(v.body)).toBe('Read me.')

    // Live changes still arrive.
    await alice.page.keyboard.type(' Updated.')
    await expect.poll(() => textWithoutCarets(v.body)).toBe('Read me. Updated.')
    await expect.poll(() => textWithoutCarets(a.body)).toBe('Read me. Updated.')

    // The document list has no "new" buttons for a viewer.
    await vera.page.goto('/#/')
    await expect(vera.page.getByRole('button', { name: 'New proposal' })).toBeDisabled()
  })
})

test('a viewer\'s change forced through the console is shown as refused, not "Saving…", also after a reload', async ({ browser }) => {
  await withSharedProposal(browser, [ALICE, VERA], async (_alice, vera) => {
    const v = editor(vera.page)
    await expect(v.saveState).toHaveText('Saved')
    await vera.page.evaluate(() => {
      const handle = (window as unknown as { posalpro: { handle: DocumentHandle<'proposal'> } }).posalpro.handle
      handle.model.meta.set('title', 'Forced by a viewer')
    })
    await expect(v.saveState).toHaveAttribute('data-state', 'refused')
    await expect(v.saveState).toHaveText('Not saved — you have read-only access')

    await vera.page.reload()
    await expect(v.saveState).toHaveAttribute('data-state', 'refused')
    await expect(v.saveState).toHaveText('Not saved — you have read-only access')
  })
})
