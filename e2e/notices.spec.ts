import type { DocumentHandle } from '../client/browser.ts'
import { ALICE, BOB, VERA, editor, expect, test, withSharedProposal } from './fixtures.ts'

/** Forces edits past the form, straight into the open document (what an old or buggy client would send). */
const force = (page: import('playwright/test').Page, edits: ReadonlyArray<readonly [root: string, key: string, value: unknown]>) =>
  page.evaluate((list) => {
    const handle = (window as unknown as { posalpro: { handle: DocumentHandle<'proposal'> } }).posalpro.handle
    // One change per edit: the server answers each with a notice of its own.
    for (const [root, key, value] of list) handle.doc.transact(() => handle.doc.getMap(root).set(key, value))
  }, edits)

test('notices name the field by its label, keep the rule id in a detail, and a burst shows at most three plus a count', async ({ browser }) => {
  await withSharedProposal(browser, [ALICE, BOB], async (alice) => {
    const toasts = editor(alice.page).toasts
    await force(alice.page, [['meta', 'status', 'approved']])
    const first = toasts.locator('.toast').first()
    await expect(first).toContainText('Status')
    await expect(first.locator('.toast-text')).toHaveText(/^Your change to Status was not saved: /)
    await expect(first.locator('.toast-text')).not.toContainText('meta.status')
    await expect(first.locator('.toast-text')).not.toContainText('status-transition')
    await expect(first.locator('details')).toContainText('Rule: status-transition')

    // Six more rejected changes in a row: three are shown, the rest are counted.
    await force(alice.page, [
      ['meta', 'status', 'won'],
      ['meta', 'status', 'lost'],
      ['meta', 'status', 'submitted'],
      ['meta', 'status', 'rejected'],
      ['meta', 'status', 'approved'],
      ['meta', 'status', 'won'],
    ])
    await expect(toasts.locator('.toast-more')).toHaveText('4 more notices')
    await expect(toasts.locator('.toast:visible')).toHaveCount(3)
    await toasts.locator('.toast-more').click()
    await expect(toasts.locator('.toast:visible')).toHaveCount(7)

    // Leaving the document clears them; so does signing out.
    await alice.page.goto('/#/')
    await expect(toasts.locator('.toast')).toHaveCount(0)
    await alice.page.goto('/#/doc/proposal/none-here')
    await force(alice.page, [['meta', 'status', 'won']])
    await expect(toasts.locator('.toast')).toHaveCount(1)
    await alice.page.getByRole('button', { name: 'Sign out' }).click()
    await expect(alice.page.getByRole('heading', { name: 'Sign in to PosalPro' })).toBeVisible()
    await expect(toasts.locator('.toast')).toHaveCount(0)
  })
})

test("a viewer's refused change is explained without an empty field name", async ({ browser }) => {
  await withSharedProposal(browser, [ALICE, VERA], async (_alice, vera) => {
    await force(vera.page, [['meta', 'title', 'Viewer was here']])
    const toast = editor(vera.page).toasts.locator('.toast').first()
    await expect(toast).toContainText('read-only')
    const text = (await toast.locator('.toast-text').textContent()) ?? ''
    expect(text).not.toMatch(/\s{2}|to\s+was|\(\)/)
    await expect(toast.locator('details')).toContainText('read-only')
  })
})

test('a rule message speaks of fields by their labels, not their paths', async ({ browser }) => {
  await withSharedProposal(browser, [BOB, ALICE], async (bob) => {
    // A manager approving with no customer and no value: the rule names both conditions.
    await force(bob.page, [['meta', 'status', 'in_review']])
    await force(bob.page, [['meta', 'status', 'approved']])
    const toast = editor(bob.page).toasts.locator('.toast', { hasText: 'approving' })
    await expect(toast).toContainText('Value')
    await expect(toast).toContainText('Customer')
    await expect(toast.locator('.toast-text')).not.toContainText('financial.value')
    await expect(toast.locator('.toast-text')).not.toContainText('meta.customerId')
  })
})
