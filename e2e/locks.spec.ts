import type { DocumentHandle } from '../client/browser.ts'
import { expectNoAxeViolations } from './axe.ts'
import { ALICE, BOB, editor, expect, createDocument, openDocumentPage, test, withSharedProposal } from './fixtures.ts'

test('an approved proposal shows the fields only an admin may change as locked, with the reason; the rest stays editable', async ({ browser }) => {
  await withSharedProposal(browser, [BOB, ALICE], async (bob, alice, name) => {
    const customer = (await createDocument(bob, 'customer')).slice('customer/'.length)
    await expect(bob.page.locator('.save-indicator')).toHaveAttribute('data-state', 'saved')
    await openDocumentPage(bob, name)
    // The manager approves (what the status buttons do), one accepted step at a time.
    for (const step of [{ 'financial.value': 5000, 'meta.customerId': customer, 'meta.status': 'in_review' }, { 'meta.status': 'approved' }]) {
      await bob.page.evaluate((values) => {
        const handle = (window as unknown as { posalpro: { handle: DocumentHandle<'proposal'> } }).posalpro.handle
        handle.doc.transact(() => {
          for (const [path, value] of Object.entries(values)) {
            const [root, key] = path.split('.') as [string, string]
            handle.doc.getMap(root).set(key, value)
          }
        })
      }, step)
      await expect(editor(bob.page).saveState).toHaveText('Saved')
    }

    for (const session of [alice, bob]) {
      const page = session.page
      const e = editor(page)
      await expect(e.statusValue).toHaveText('Approved')
      for (const label of ['Value', 'Discount %', 'Margin %', 'Payment terms (days)', 'Customer']) {
        const field = page.getByLabel(label, { exact: true })
        await expect(field, label).toBeDisabled()
        await expect(field, label).toHaveAccessibleDescription(/^Locked: the proposal is approved; only an admin can change/)
      }
      await expect(page.getByRole('note').filter({ hasText: 'locked' })).toContainText('Customer, Value, Discount %, Margin %, Payment terms (days)')
      // Not locked by any rule: still editable.
      await expect(e.title).toBeEnabled()
      await expect(page.getByLabel('Due date')).toBeEnabled()
      await expect(e.body).toHaveAttribute('contenteditable', 'true')
    }
    await expectNoAxeViolations(alice.page, 'approved proposal')
  })
})
