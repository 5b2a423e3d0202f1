import type { DocumentHandle } from '../client/browser.ts'
import { ALICE, BOB, adminToken, editor, expect, sharedServerUrl, test, withSharedProposal } from './fixtures.ts'

test('a forbidden change forced through the handle is rejected: the toast names the field (the rule in its details), the field reverts for both users', async ({ browser }) => {
  await withSharedProposal(browser, [ALICE, BOB], async (alice, bob) => {
    const a = editor(alice.page)
    const b = editor(bob.page)
    await expect(a.statusValue).toHaveAttribute('data-status', 'draft')
    // The form offers only the moves the lifecycle has from draft: in review, not approved.
    await expect(a.status.getByRole('button')).toHaveText(['Move to In review'])

    // Forced past the form: draft → approved skips review (status-transition).
    await alice.page.evaluate(() => {
      const handle = (window as unknown as { posalpro: { handle: DocumentHandle<'proposal'> } }).posalpro.handle
      handle.model.meta.set('status', 'approved')
    })
    await expect(a.toasts).toContainText('Your change to Status was not saved')
    await expect(a.toasts.locator('details')).toContainText('Rule: status-transition')
    await expect(a.statusValue).toHaveAttribute('data-status', 'draft')
    await expect(b.statusValue).toHaveAttribute('data-status', 'draft')
    await expect(a.saveState).toHaveText('Saved')
  })
})

test('a financial change by an editor is held for review; once an admin approves it, both users see the value', async ({ browser }) => {
  await withSharedProposal(browser, [ALICE, BOB], async (alice, bob, name) => {
    const a = editor(alice.page)
    const b = editor(bob.page)

    await a.value.fill('125000')
    await a.value.press('Tab')
    await expect(a.toasts).toContainText('Your change to Value is held for review')
    await expect(a.toasts.locator('details')).toContainText('Rule: financial-review')
    // Held: not applied, so the field shows the document's value (none) for both.
    await expect(a.value).toHaveValue('')
    await expect(b.value).toHaveValue('')

    const server = sharedServerUrl()
    const token = await adminToken()
    const listed = (await (await fetch(`${server}/admin/reviews?status=pending`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
      reviews: Array<{ id: string; document: string }>
    }
    const item = listed.reviews.find((review) => review.document === name)
    expect(item, `a pending review item for ${name}`).toBeTruthy()
    const decided = await fetch(`${server}/admin/reviews/${item!.id}/approve`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
    expect(decided.status).toBe(200)

    await expect(a.value).toHaveValue('125000')
    await expect(b.value).toHaveValue('125000')
    await expect(a.toasts).toContainText('Review of your change to Value')
  })
})
