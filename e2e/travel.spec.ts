import type { DocumentHandle } from '../client/browser.ts'
import { createDocument, expect, openDocumentPage, signInAs, test, textWithoutCarets, uniqueId, type Person } from './fixtures.ts'

test('travel mode: "Keep all on this device" brings documents never opened here into IndexedDB; offline they open with their content', async ({ browser }) => {
  // A tenant of its own, so "all" is exactly what this test made.
  const tenant = uniqueId('travel')
  const bob: Person = { userId: 'bob', name: 'Bob Manager', role: 'manager', tenant }
  const alice: Person = { userId: 'alice', name: 'Alice Editor', role: 'editor', tenant }
  const author = await signInAs(browser, bob)
  const traveller = await signInAs(browser, alice)
  try {
    // Bob creates a customer and a content document through the app's "new" buttons.
    await author.page.getByRole('button', { name: 'New customer' }).click()
    await author.page.getByLabel('Name').fill('ACME Corporation')
    await author.page.getByLabel('Email').fill('buyer@acme.test')
    await author.page.getByLabel('Email').press('Tab')
    await expect(author.page.locator('.save-indicator')).toHaveText('Saved')
    const customerId = /#\/doc\/customer\/([\w-]+)/.exec(author.page.url())![1]!

    await author.page.goto('/#/')
    await author.page.getByRole('button', { name: 'New content' }).click()
    await author.page.getByLabel('Title', { exact: true }).fill('Standard terms')
    // The editor takes keystrokes once the new document's first sync says what this user may edit.
    const body = author.page.getByRole('textbox', { name: 'Content text' })
    await expect(body).toHaveAttribute('aria-readonly', 'false')
    await body.click()
    await author.page.keyboard.type('Payment within 30 days.')
    await expect.poll(() => textWithoutCarets(body)).toBe('Payment within 30 days.')
    // Saved on the server, text included (the indicator may still show the title's "Saved" for a moment).
    await author.page.evaluate(() => (window as unknown as { posalpro: { handle: DocumentHandle } }).posalpro.handle.whenSaved())
    await expect(author.page.locator('.save-indicator')).toHaveText('Saved')

    // Alice's list (loaded fresh) has both; she keeps them all, then travels.
    await traveller.page.goto('/#/')
    await traveller.page.reload()
    await expect(traveller.page.locator(`a[data-document="customer/${customerId}"]`)).toBeVisible()
    await traveller.page.getByRole('button', { name: 'Keep all on this device' }).click()
    await expect(traveller.page.locator('.toasts')).toContainText('2 documents are kept on this device')
    await traveller.page.waitForFunction(() => navigator.serviceWorker.controller !== null)

    await traveller.context.setOffline(true)
    await traveller.page.reload()
    await expect(traveller.page.getByText('Offline — showing the documents kept on this device.')).toBeVisible()
    await traveller.page.locator(`a[data-document="customer/${customerId}"]`).click()
    await expect(traveller.page.getByLabel('Name')).toHaveValue('ACME Corporation')
    await expect(traveller.page.getByLabel('Email')).toHaveValue('buyer@acme.test')
    await expect(traveller.page.locator('.save-indicator')).toHaveAttribute('data-state', 'offline')

    await traveller.page.goto('/#/')
    await traveller.page.getByRole('link', { name: 'Standard terms' }).click()
    await expect.poll(() => textWithoutCarets(traveller.page.getByRole('textbox', { name: 'Content text' }))).toBe('Payment within 30 days.')

    // Back online, a new proposal offers the customer by name in its picker.
    await traveller.context.setOffline(false)
    const proposal = await createDocument(traveller, 'proposal')
    await traveller.page.getByLabel('Customer').selectOption({ label: `ACME Corporation (${customerId})` })
    await openDocumentPage(author, proposal)
    await expect(author.page.getByLabel('Customer')).toHaveValue(customerId)
  } finally {
    await author.context.close()
    await traveller.context.close()
  }
})
