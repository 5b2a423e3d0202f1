import type { DocumentHandle } from '../client/browser.ts'
import { ALICE, BOB, createDocument, expect, signInAs, test } from './fixtures.ts'

test('an invalid e-mail stays in the field with the error beside it and is not written; a valid one is', async ({ browser }) => {
  const alice = await signInAs(browser, ALICE)
  const bob = await signInAs(browser, BOB)
  try {
    const page = alice.page
    const name = await createDocument(alice, 'customer')
    const email = page.getByLabel('Email')
    const stored = () =>
      page.evaluate(() => (window as unknown as { posalpro: { handle: DocumentHandle<'customer'> } }).posalpro.handle.model.fields.get('email') ?? null)
    await expect(page.locator('.save-indicator')).toHaveText('Saved')

    await email.fill('buyer at acme')
    await email.press('Tab')
    await expect(email).toHaveAttribute('aria-invalid', 'true')
    await expect(page.locator('.field-error')).toHaveText(/e-mail/i)
    await expect(email).toHaveAccessibleDescription(/e-mail/i)
    // The typed text stays; nothing was written, nothing rejected, nothing left unsaved.
    await expect(page.locator('.save-indicator')).toHaveText('Saved')
    await expect(email).toHaveValue('buyer at acme')
    expect(await stored()).toBeNull()
    await expect(page.locator('.toasts')).not.toContainText('rejected')

    await email.fill('buyer@acme.test')
    await email.press('Tab')
    await expect(email).not.toHaveAttribute('aria-invalid', 'true')
    await expect(page.locator('.field-error')).toHaveCount(0)
    await expect(page.locator('.save-indicator')).toHaveText('Saved')
    expect(await stored()).toBe('buyer@acme.test')
    await bob.page.goto(`/#/doc/${name}`)
    await expect(bob.page.getByLabel('Email')).toHaveValue('buyer@acme.test')
  } finally {
    await alice.context.close()
    await bob.context.close()
  }
})
