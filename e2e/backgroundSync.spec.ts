import { ALICE, BOB, createDocument, expect, signInAs, test, uniqueId } from './fixtures.ts'

test('a document created offline is uploaded in the background once online, from the list page; the list and header say what waits; sign-out warns', async ({ browser }) => {
  const alice = await signInAs(browser, ALICE)
  const bob = await signInAs(browser, BOB)
  try {
    const page = alice.page
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null)
    await alice.context.setOffline(true)
    const name = await createDocument(alice, 'customer')
    await page.getByLabel('Name').fill('Offline Customer GmbH')
    await expect(page.locator('.save-indicator')).toHaveText('Offline — 2 changes kept on this device') // created, renamed
    // A reload (the app shell from the service worker) counts the same changes, not "1".
    await page.reload()
    await expect(page.getByLabel('Name')).toHaveValue('Offline Customer GmbH')
    await expect(page.locator('.save-indicator')).toHaveText('Offline — 2 changes kept on this device')
    await expect(page.locator('.pending-uploads')).toHaveText('2 changes not uploaded yet')
    await page.getByRole('link', { name: '← Documents' }).click()

    // The list marks it, the header counts what waits to upload.
    const row = page.locator('li', { has: page.locator(`a[data-document="${name}"]`) })
    await expect(row.locator('.not-uploaded')).toHaveText('Not uploaded yet')
    const pending = page.locator('.pending-uploads')
    await expect(pending).toHaveText('2 changes not uploaded yet')

    // Signing out now warns; dismissing the warning keeps the session.
    const warnings: string[] = []
    page.once('dialog', (dialog) => {
      warnings.push(dialog.message())
      void dialog.dismiss()
    })
    await page.getByRole('button', { name: 'Sign out' }).click()
    expect(warnings).toEqual([expect.stringMatching(/not uploaded yet/)])
    await expect(page.getByText(`${ALICE.name} · ${ALICE.role}`)).toBeVisible()

    // Back online, still on the list: the customer reaches the server without being reopened.
    await alice.context.setOffline(false)
    await expect(row.locator('.not-uploaded')).toHaveCount(0)
    await expect(pending).toBeHidden()
    await bob.page.goto(`/#/doc/${name}`)
    await expect(bob.page.getByLabel('Name')).toHaveValue('Offline Customer GmbH')

    // Nothing waits: signing out asks nothing.
    page.once('dialog', (dialog) => {
      warnings.push(dialog.message())
      void dialog.dismiss()
    })
    await page.getByRole('button', { name: 'Sign out' }).click()
    await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible()
    expect(warnings).toHaveLength(1)
  } finally {
    await alice.context.close()
    await bob.context.close()
  }
})

test('changes left on the device when the page closed are uploaded by the next page, whatever it opens first', async ({ browser }) => {
  const alice = await signInAs(browser, ALICE)
  const bob = await signInAs(browser, BOB)
  try {
    await alice.context.setOffline(true)
    const name = await createDocument(alice, 'customer')
    await alice.page.getByLabel('Name').fill('Closed offline')
    await expect(alice.page.locator('.save-indicator')).toHaveText(/^Offline — \d+ changes? kept on this device$/)
    await alice.page.close()
    await alice.context.setOffline(false)

    // The next page opens straight on another document: the customer goes up meanwhile.
    const page = await alice.context.newPage()
    await page.goto(`/#/doc/proposal/${uniqueId('elsewhere')}`)
    await expect(page.locator('.save-indicator')).toHaveText('Saved')
    await expect(page.locator('.pending-uploads')).toBeHidden()
    await bob.page.goto(`/#/doc/${name}`)
    await expect(bob.page.getByLabel('Name')).toHaveValue('Closed offline')
  } finally {
    await alice.context.close()
    await bob.context.close()
  }
})
