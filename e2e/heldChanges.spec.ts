import type { Page } from 'playwright/test'
import { ALICE, createDocument, editor, expect, openDocumentPage, signInAs, test, uniqueId, type Person } from './fixtures.ts'

const ADA: Person = { userId: 'ada', name: 'Ada Admin', role: 'admin' }

/** The note on the Value field (heldValueNotes.ts). */
const valueNote = (page: Page) => page.locator('.field', { has: page.locator('[data-field="value"]') }).locator('.held-note')

test('a held Value stays visible on the field for its proposer (also after a reload) and for an admin, who approves it', async ({ browser }) => {
  const alice = await signInAs(browser, ALICE)
  const ada = await signInAs(browser, ADA)
  try {
    const name = await createDocument(alice, 'proposal')
    const a = editor(alice.page)
    await a.value.fill('12000')
    await a.value.press('Tab')
    // The field shows the document's value (none yet); the held one sits beside it.
    await expect(valueNote(alice.page)).toHaveText("12,000 — waiting for a manager's review")
    await expect(a.value).toHaveValue('')
    await expect(a.saveState).toHaveText('Saved')

    await alice.page.reload()
    await expect(valueNote(alice.page)).toHaveText("12,000 — waiting for a manager's review")

    await openDocumentPage(ada, name)
    const note = valueNote(ada.page)
    await expect(note).toContainText('Alice Editor proposes 12,000 (financial review)')
    await note.getByRole('button', { name: 'Approve' }).click()

    await expect(editor(ada.page).value).toHaveValue('12000')
    await expect(a.value).toHaveValue('12000')
    await expect(valueNote(ada.page)).toHaveCount(0)
    await expect(valueNote(alice.page)).toHaveCount(0)
  } finally {
    await alice.context.close()
    await ada.context.close()
  }
})

test('a decision made while the proposer is signed out waits in their notifications: badge 1, the panel tells what was decided', async ({ browser }) => {
  // A user of this test only: notifications are per user, and other tests decide Alice's changes.
  const carol: Person = { userId: uniqueId('carol'), name: 'Carol Editor', role: 'editor' }
  const proposer = await signInAs(browser, carol)
  const ada = await signInAs(browser, ADA)
  try {
    const name = await createDocument(proposer, 'proposal')
    const a = editor(proposer.page)
    await a.value.fill('13000')
    await a.value.press('Tab')
    await expect(valueNote(proposer.page)).toHaveText("13,000 — waiting for a manager's review")
    await expect(a.saveState).toHaveText('Saved')
    await proposer.page.getByRole('button', { name: 'Sign out' }).click()
    await expect(proposer.page.getByLabel('User id')).toBeVisible()

    await openDocumentPage(ada, name)
    await valueNote(ada.page).getByRole('button', { name: 'Reject' }).click()
    await ada.page.getByLabel('Reason (the proposer reads it)').fill('over budget')
    await ada.page.getByRole('dialog').getByRole('button', { name: 'Reject' }).click()
    await expect(valueNote(ada.page)).toHaveCount(0)

    // The proposer's next open.
    await proposer.page.getByLabel('User id').fill(carol.userId)
    await proposer.page.getByLabel('Display name').fill(carol.name)
    await proposer.page.getByLabel('Role').selectOption(carol.role)
    await proposer.page.getByLabel('Tenant').fill('acme')
    await proposer.page.getByRole('button', { name: 'Sign in' }).click()
    const button = proposer.page.locator('.notifications-button')
    await expect(button.locator('.badge')).toHaveText('1 unread')
    await expect(proposer.page.getByRole('button', { name: 'Notifications 1 unread' })).toBeVisible()
    await button.click()
    const panel = proposer.page.getByRole('region', { name: 'Notifications' })
    const entry = panel.locator('.notification').first()
    await expect(entry).toContainText('Your change to Value')
    await expect(entry).toContainText('rejected by ada: over budget')
    await expect(entry.getByRole('link', { name })).toHaveAttribute('href', `#/doc/${name}`)
    // Opening the panel marked it read.
    await expect(button.locator('.badge')).toBeHidden()
  } finally {
    await proposer.context.close()
    await ada.context.close()
  }
})
