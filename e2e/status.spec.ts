import type { DocumentHandle } from '../client/browser.ts'
import { expectNoAxeViolations } from './axe.ts'
import { ALICE, BOB, editor, expect, createDocument, openDocumentPage, test, withSharedProposal } from './fixtures.ts'

const localStatus = (page: import('playwright/test').Page) =>
  page.evaluate(() => (window as unknown as { posalpro: { handle: DocumentHandle<'proposal'> } }).posalpro.handle.model.meta.get('status'))

test('a status move is an explicit action; one the user cannot undo asks first, and arrow keys change nothing', async ({ browser }) => {
  await withSharedProposal(browser, [ALICE, BOB], async (alice, bob) => {
    const a = editor(alice.page)
    const b = editor(bob.page)
    await expect(a.statusValue).toHaveText('Draft')
    const toReview = a.status.getByRole('button', { name: 'Move to In review' })

    // Keys that used to commit a select do nothing (the document changes synchronously, or not at all).
    await toReview.focus()
    for (const key of ['ArrowDown', 'ArrowUp', 'End', 'PageDown']) await alice.page.keyboard.press(key)
    expect(await localStatus(alice.page)).toBe('draft')

    // An editor cannot move it back from in review: the move asks first, Escape cancels.
    await toReview.click()
    const dialog = alice.page.getByRole('dialog', { name: 'Move to In review?' })
    await expect(dialog).toContainText('You cannot move this proposal back to Draft yourself afterwards.')
    await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused()
    await expectNoAxeViolations(alice.page, 'status confirmation')
    await alice.page.keyboard.press('Escape')
    await expect(dialog).toHaveCount(0)
    expect(await localStatus(alice.page)).toBe('draft')
    await expect(toReview).toBeFocused()

    await toReview.click()
    await dialog.getByRole('button', { name: 'Move to In review' }).press('Enter')
    await expect(a.statusValue).toHaveText('In review')
    // The button pressed is gone (no such move from in review): focus stays in the status control.
    await expect(a.statusValue).toBeFocused()
    await expect(b.statusValue).toHaveText('In review')
    await expect(a.saveState).toHaveText('Saved')
    await expect(a.statusValue).toHaveText('In review')

    // What the editor cannot do from here is shown, with the reason, and cannot be clicked.
    const approve = a.status.getByRole('button', { name: 'Move to Approved' })
    await expect(approve).toBeDisabled()
    await expect(a.status).toContainText('only a manager or admin can set the status to approved')
  })
})

test('the offered moves follow the document live: Approved opens as soon as a manager picks a customer', async ({ browser }) => {
  await withSharedProposal(browser, [BOB, ALICE], async (bob, alice, name) => {
    const customer = (await createDocument(bob, 'customer')).slice('customer/'.length)
    await expect(bob.page.locator('.save-indicator')).toHaveAttribute('data-state', 'saved')
    await openDocumentPage(bob, name)
    const b = editor(bob.page)
    await b.value.fill('1000')
    await b.value.press('Tab')
    await b.status.getByRole('button', { name: 'Move to In review' }).click()
    await bob.page.getByRole('dialog').getByRole('button', { name: 'Move to In review' }).click()
    await expect(b.statusValue).toHaveText('In review')

    const approve = b.status.getByRole('button', { name: 'Move to Approved' })
    await expect(approve).toBeDisabled()
    await expect(b.status).toContainText('approving needs a Customer')
    await bob.page.getByLabel('Customer').selectOption(customer)
    await expect(approve).toBeEnabled()
    await approve.click()
    await bob.page.getByRole('dialog').getByRole('button', { name: 'Move to Approved' }).click()
    await expect(b.statusValue).toHaveText('Approved')
    await expect(b.saveState).toHaveText('Saved')
    await expect(editor(alice.page).statusValue).toHaveText('Approved')
    // Accepted by the server: no notice, and the next move is offered.
    await expect(b.toasts.locator('.toast')).toHaveCount(0)
    await expect(b.status.getByRole('button', { name: 'Move to Submitted' })).toBeEnabled()
  })
})

test("Approved is not offered for a customer the tenant's list does not have, and says why", async ({ browser }) => {
  await withSharedProposal(browser, [BOB, ALICE], async (bob) => {
    const b = editor(bob.page)
    // Another client wrote a customer id that names no customer (the picker never offers one).
    await bob.page.evaluate(() => {
      const handle = (window as unknown as { posalpro: { handle: DocumentHandle<'proposal'> } }).posalpro.handle
      handle.doc.transact(() => {
        handle.model.meta.set('customerId', 'no-such-customer')
        handle.model.financial.set('value', 1000)
        handle.model.meta.set('status', 'in_review')
      })
    })
    await expect(b.statusValue).toHaveText('In review')
    await expect(b.status.getByRole('button', { name: 'Move to Approved' })).toBeDisabled()
    await expect(b.status).toContainText('customer/no-such-customer does not exist')
  })
})

test('a customer created and picked by another user after the proposal opened counts as existing', async ({ browser }) => {
  await withSharedProposal(browser, [BOB, ALICE], async (bob, alice, name) => {
    const b = editor(bob.page)
    await bob.page.evaluate(() => {
      const handle = (window as unknown as { posalpro: { handle: DocumentHandle<'proposal'> } }).posalpro.handle
      handle.doc.transact(() => {
        handle.model.financial.set('value', 1000)
        handle.model.meta.set('status', 'in_review')
      })
    })
    await expect(b.status).toContainText('approving needs a Customer')

    // Bob's customer list was fetched when he opened the proposal; Alice makes a customer now.
    const customer = (await createDocument(alice, 'customer')).slice('customer/'.length)
    await expect(alice.page.locator('.save-indicator')).toHaveAttribute('data-state', 'saved')
    await openDocumentPage(alice, name)
    await alice.page.getByLabel('Customer').selectOption(customer)

    await expect(bob.page.getByLabel('Customer')).toHaveValue(customer)
    await expect(b.status.getByRole('button', { name: 'Move to Approved' })).toBeEnabled()
    await expect(b.status).not.toContainText('does not exist')
  })
})
