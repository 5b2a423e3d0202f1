import * as Y from 'yjs'
import { connectStockClient } from '../shared/testing/stockClient.ts'
import { fetchDevToken } from '../shared/testing/devTokens.ts'
import { expectNoAxeViolations } from './axe.ts'
import { BOB, createDocument, editor, expect, openDocumentPage, sharedServerUrl, signInAs, test, uniqueId, type Person, type Session } from './fixtures.ts'

const ADA: Person = { userId: 'ada', name: 'Ada Admin', role: 'admin' }

/** The inbox card of the item proposed on `name`. */
const card = (session: Session, name: string) => session.page.locator('.review-item', { has: session.page.locator(`a[href="#/doc/${name}"]`) })

/** A proposer of this test only: notifications are per user. */
const newEditor = (): Person => ({ userId: uniqueId('carol'), name: 'Carol Editor', role: 'editor' })

/** The proposer types a Value (held for review), waits until it is saved, and signs out. */
const proposeValueAndLeave = async (proposer: Session, value: string): Promise<string> => {
  const name = await createDocument(proposer, 'proposal')
  const form = editor(proposer.page)
  await form.title.fill(`Harbour ${name.slice(-6)}`)
  await form.value.fill(value)
  await form.value.press('Tab')
  await expect(form.value).toHaveValue('')
  await expect(form.saveState).toHaveText('Saved')
  await proposer.page.getByRole('button', { name: 'Sign out' }).click()
  await expect(proposer.page.getByLabel('User id')).toBeVisible()
  return name
}

const signInAgain = async (session: Session) => {
  const { page, person } = session
  await page.getByLabel('User id').fill(person.userId)
  await page.getByLabel('Display name').fill(person.name)
  await page.getByLabel('Role').selectOption(person.role)
  await page.getByLabel('Tenant').fill('acme')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByText(`${person.name} · ${person.role}`)).toBeVisible()
}

test('a held Value reaches the manager\'s inbox with both values; approved, the proposer learns it at next sign-in and the value is live', async ({ browser }) => {
  const proposer = await signInAs(browser, newEditor())
  const manager = await signInAs(browser, BOB)
  try {
    const name = await proposeValueAndLeave(proposer, '12000')

    await manager.page.getByRole('link', { name: 'Review inbox' }).click()
    await expect(manager.page.getByRole('heading', { level: 1, name: 'Review inbox' })).toBeVisible()
    const item = card(manager, name)
    await expect(item).toContainText('Proposed by Carol Editor')
    await expect(item.getByRole('heading', { name: 'Value' })).toBeVisible()
    await expect(item.locator('td.current-value')).toHaveText('(empty)')
    await expect(item.locator('td.proposed-value')).toHaveText('12,000')
    await expectNoAxeViolations(manager.page, 'review inbox')
    // Keyboard: the approve button is reachable and works with Enter.
    const approve = item.getByRole('button', { name: /^Approve Value in Harbour/ })
    await approve.focus()
    await manager.page.keyboard.press('Enter')
    await expect(manager.page.getByRole('status').filter({ hasText: 'Approved: Value' })).toBeVisible()
    await expect(item).toHaveCount(0)

    await openDocumentPage(manager, name)
    await expect(editor(manager.page).value).toHaveValue('12000')

    await signInAgain(proposer)
    const button = proposer.page.locator('.notifications-button')
    await expect(button.locator('.badge')).toHaveText('1 unread')
    await button.click()
    const entry = proposer.page.getByRole('region', { name: 'Notifications' }).locator('.notification').first()
    await expect(entry).toContainText('Your change to Value')
    await expect(entry).toContainText('approved by bob')
    await openDocumentPage(proposer, name)
    await expect(editor(proposer.page).value).toHaveValue('12000')
  } finally {
    await proposer.context.close()
    await manager.context.close()
  }
})

test('a rejection with a reason reaches the proposer: in their notifications and in My changes', async ({ browser }) => {
  const proposer = await signInAs(browser, newEditor())
  const manager = await signInAs(browser, BOB)
  try {
    const name = await proposeValueAndLeave(proposer, '99000')
    await manager.page.goto('/#/reviews')
    const item = card(manager, name)
    await item.getByRole('button', { name: /^Reject Value/ }).click()
    await manager.page.getByLabel('Reason (the proposer reads it)').fill('over budget')
    await manager.page.getByRole('dialog').getByRole('button', { name: 'Reject' }).click()
    await expect(manager.page.getByRole('status').filter({ hasText: 'Rejected: Value' })).toBeVisible()

    await signInAgain(proposer)
    await proposer.page.locator('.notifications-button').click()
    const entry = proposer.page.getByRole('region', { name: 'Notifications' }).locator('.notification').first()
    await expect(entry).toContainText('rejected by bob: over budget')
    await entry.getByRole('link', { name: 'See your changes' }).click()
    await expect(proposer.page.getByRole('heading', { level: 1, name: 'My pending changes' })).toBeVisible()
    const decided = proposer.page.getByRole('region', { name: 'Decided' }).locator('.review-item', { has: proposer.page.locator(`a[href="#/doc/${name}"]`) })
    await expect(decided.locator('.review-status')).toHaveText('Rejected by bob: over budget')
    await expect(decided.locator('td.proposed-value')).toHaveText('99,000')
    await expectNoAxeViolations(proposer.page, 'my changes')
  } finally {
    await proposer.context.close()
    await manager.context.close()
  }
})

test('my pending changes lists what waits for review', async ({ browser }) => {
  const proposer = await signInAs(browser, newEditor())
  try {
    const name = await createDocument(proposer, 'proposal')
    const form = editor(proposer.page)
    await form.value.fill('4500')
    await form.value.press('Tab')
    await expect(form.saveState).toHaveText('Saved')
    await proposer.page.getByRole('link', { name: 'My changes' }).click()
    const waiting = proposer.page.getByRole('region', { name: 'Waiting for review' }).locator('.review-item', { has: proposer.page.locator(`a[href="#/doc/${name}"]`) })
    await expect(waiting.locator('td.proposed-value')).toHaveText('4,500')
    await expect(waiting.getByRole('button')).toHaveCount(0)
  } finally {
    await proposer.context.close()
  }
})

test('a held edit of legal text shows in the inbox as a formatted diff: deleted and inserted words marked, bold kept', async ({ browser }) => {
  const lawyer: Person = { ...BOB, userId: 'lena', name: 'Lena Legal', legal: true }
  const legal = await signInAs(browser, lawyer)
  const ada = await signInAs(browser, ADA)
  // The app keeps legal text read-only for non-legal users; another client of the same server (a
  // stock provider, as an editor) makes the edit the rule holds.
  let client: ReturnType<typeof connectStockClient> | null = null
  try {
    const name = await createDocument(legal, 'content')
    await legal.page.getByRole('textbox', { name: 'Content text' }).click()
    await legal.page.keyboard.type('Liability is limited.')
    await legal.page.getByLabel('Legal text (edited by legal reviewers only)').check()
    await expect(legal.page.locator('.save-indicator')).toHaveText('Saved')

    const token = await fetchDevToken(sharedServerUrl(), { user: uniqueId('ed'), name: 'Eddie Editor', role: 'editor', tenant: 'acme' })
    client = connectStockClient(sharedServerUrl().replace(/^http/, 'ws'), name, { params: { token } })
    await client.whenSynced()
    const doc = client.doc
    await expect.poll(() => doc.getXmlFragment('body').toString()).toContain('Liability is limited.')
    const text = (doc.getXmlFragment('body').get(0) as Y.XmlElement).get(0) as Y.XmlText
    doc.transact(() => {
      text.delete(13, 8)
      text.insert(13, 'capped at one million.', { strong: {} })
    })

    await ada.page.goto('/#/reviews')
    const item = card(ada, name)
    await expect(item).toContainText('Proposed by Eddie Editor')
    const diff = item.locator('.rich-text-diff')
    await expect(diff.locator('del')).toContainText('limited.')
    await expect(diff.locator('ins strong')).toHaveText('capped at one million.')
    await expect(item.locator('.current-value .rich-text-view')).toHaveText('Liability is limited.')
    await expect(item.locator('.proposed-value .rich-text-view strong')).toHaveText('capped at one million.')
    await expect(item).not.toContainText('{')
    await expectNoAxeViolations(ada.page, 'review inbox with a rich-text diff')
    await item.getByRole('button', { name: /^Approve/ }).click()
    await expect(legal.page.getByRole('textbox', { name: 'Content text' }).locator('strong')).toHaveText('capped at one million.')
  } finally {
    client?.destroy()
    await legal.context.close()
    await ada.context.close()
  }
})
