import * as Y from 'yjs'
import { connectStockClient, type StockClient } from '../shared/testing/stockClient.ts'
import { fetchDevToken } from '../shared/testing/devTokens.ts'
import { expectNoAxeViolations } from './axe.ts'
import { expect, sharedServerUrl, signInAs, test, uniqueId, type Person } from './fixtures.ts'

/** Writes a document as `user` through a stock client (Node), as another device would; resolves once stored. */
const writeDocument = async (tenant: string, user: { user: string; role: 'manager' | 'editor' }, name: string, write: (doc: Y.Doc) => void): Promise<void> => {
  const httpUrl = sharedServerUrl()
  const token = await fetchDevToken(httpUrl, { ...user, tenant })
  const client: StockClient = connectStockClient(httpUrl.replace(/^http/, 'ws'), name, { params: { token } })
  try {
    await client.whenSynced()
    client.doc.transact(() => write(client.doc))
    // Stored once the server's list has it with its title.
    const listToken = await fetchDevToken(httpUrl, { user: 'probe', role: 'viewer', tenant })
    await expect
      .poll(async () => {
        const response = await fetch(`${httpUrl}/api/documents?limit=200`, { headers: { authorization: `Bearer ${listToken}` } })
        const body = (await response.json()) as { documents: Array<{ name: string; title: string }> }
        return body.documents.find((doc) => doc.name === name)?.title ?? ''
      })
      .not.toBe('')
  } finally {
    client.destroy()
  }
}

test('the list shows every document of the tenant with its summary (also never opened here); search, filter; archive hides, unarchive brings back; duplicate; recently opened first; no axe violations', async ({ browser }) => {
  const tenant = uniqueId('list')
  const manager = { user: 'maria', role: 'manager' } as const
  await writeDocument(tenant, manager, 'customer/initech', (doc) => doc.getText('name').insert(0, 'Initech'))
  await writeDocument(tenant, manager, 'proposal/zebra', (doc) => {
    doc.getText('title').insert(0, 'Zebra tender')
    doc.getMap('meta').set('status', 'draft')
    doc.getMap('meta').set('ownerId', 'maria')
    doc.getMap('meta').set('customerId', 'initech')
    doc.getMap('financial').set('value', 125000)
    doc.getMap('meta').set('currency', 'EUR')
  })
  await writeDocument(tenant, manager, 'content/terms', (doc) => doc.getText('title').insert(0, 'Standard terms'))

  // A device that never opened any of them: titles and summaries come from the server.
  const alice: Person = { userId: 'alice', name: 'Alice Editor', role: 'editor', tenant }
  const session = await signInAs(browser, alice)
  const bobSession = await signInAs(browser, { userId: 'bob', name: 'Bob Manager', role: 'manager', tenant })
  try {
    const { page } = session
    const zebra = page.locator('li', { has: page.locator('a[data-document="proposal/zebra"]') })
    await expect(zebra.getByRole('link', { name: 'Zebra tender' })).toBeVisible()
    await expect(zebra).toContainText('Draft')
    await expect(zebra).toContainText('owner maria')
    await expect(zebra).toContainText('customer Initech')
    await expect(zebra).toContainText('125,000')
    await expect(page.locator('a[data-document="customer/initech"]')).toHaveText('Initech')
    await expect(page.locator('a[data-document="content/terms"]')).toHaveText('Standard terms')
    await page.locator('.document-lists:not([aria-busy])').waitFor()
    await expectNoAxeViolations(page, 'document list')

    await page.getByLabel('Search').fill('zebra')
    await expect(page.locator('.documents.all a[data-document]')).toHaveText(['Zebra tender'])
    await page.getByLabel('Search').fill('')
    await page.getByLabel('Type').selectOption('customer')
    await expect(page.locator('.documents.all a[data-document]')).toHaveText(['Initech'])
    await page.getByLabel('Type').selectOption('')
    await expect(page.locator('.documents.all a[data-document]')).toHaveCount(3)
    // An editor may duplicate, not archive.
    await expect(zebra.getByRole('button', { name: 'Archive', exact: true })).toHaveCount(0)

    // A manager archives it: it leaves the list, and "Archived" lists it; unarchiving brings it back.
    const bob = bobSession.page
    const bobZebra = bob.locator('li', { has: bob.locator('a[data-document="proposal/zebra"]') })
    await bobZebra.getByRole('button', { name: 'Archive', exact: true }).click()
    await expect(bob.locator('a[data-document="proposal/zebra"]')).toHaveCount(0)
    await expect(bob.locator('.documents.all a[data-document]')).toHaveCount(2)
    await bob.getByRole('checkbox', { name: 'Show archived' }).check()
    await expect(bob.locator('.documents.all a[data-document]')).toHaveText(['Zebra tender'])
    await expectNoAxeViolations(bob, 'archived documents')
    await bobZebra.getByRole('button', { name: 'Unarchive', exact: true }).click()
    await expect(bob.locator('.documents.all a[data-document]')).toHaveCount(0)
    await bob.getByRole('checkbox', { name: 'Show archived' }).uncheck()
    await expect(bob.locator('a[data-document="proposal/zebra"]')).toHaveText('Zebra tender')

    // Alice's list, loaded again, has it too; she duplicates it (the copy's value is held for review: she is an editor).
    await page.reload()
    await expect(page.locator('a[data-document="proposal/zebra"]')).toHaveText('Zebra tender')
    await zebra.getByRole('button', { name: 'Duplicate', exact: true }).click()
    await expect(page.locator('.toasts')).toContainText('Duplicated as "Copy of Zebra tender"')
    await expect(page.locator('.documents.all a[data-document]', { hasText: 'Copy of Zebra tender' })).toHaveCount(1)

    // A document she opens comes first next time, under "Recently opened on this device".
    await page.locator('a[data-document="content/terms"]').click()
    await expect(page.getByRole('heading', { level: 1, name: 'Standard terms' })).toBeVisible()
    await page.goto('/#/')
    await expect(page.getByRole('region', { name: 'Recently opened on this device' }).getByRole('link')).toHaveText(['Standard terms'])
  } finally {
    await session.context.close()
    await bobSession.context.close()
  }
})
