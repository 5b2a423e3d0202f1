import { fetchDevToken } from '../shared/testing/devTokens.ts'
import { connectStockClient } from '../shared/testing/stockClient.ts'
import { expectNoAxeViolations } from './axe.ts'
import { ALICE, BOB, createDocument, editor, expect, openDocumentPage, sharedServerUrl, signInAs, test, uniqueId, type Person } from './fixtures.ts'

const DANA: Person = { userId: 'dana', name: 'Dana Editor', role: 'editor' }

test('history names three editors; an earlier version shows the old values; a manager restores it everywhere as a new event; an editor cannot restore', async ({ browser }) => {
  const alice = await signInAs(browser, ALICE)
  const bob = await signInAs(browser, BOB)
  const dana = await signInAs(browser, DANA)
  try {
    const name = await createDocument(alice, 'proposal')
    const a = editor(alice.page)
    await a.title.fill('Harbour bid')
    await expect(a.saveState).toHaveText('Saved')
    await openDocumentPage(bob, name)
    await editor(bob.page).value.fill('40000')
    await editor(bob.page).value.press('Tab')
    await expect(editor(bob.page).saveState).toHaveText('Saved')
    await openDocumentPage(dana, name)
    await dana.page.getByLabel('Due date').fill('2027-01-31')
    await dana.page.getByLabel('Due date').press('Tab')
    await expect(editor(dana.page).saveState).toHaveText('Saved')
    // Later changes, to be undone by the restore.
    await expect(a.value).toHaveValue('40000')
    await a.title.fill('Harbour bid, revised')
    await expect(a.saveState).toHaveText('Saved')
    await editor(bob.page).value.fill('55000')
    await editor(bob.page).value.press('Tab')
    await expect(a.value).toHaveValue('55000')

    await bob.page.getByRole('link', { name: 'History' }).click()
    await expect(bob.page.getByRole('heading', { level: 1, name: `History of ${name.replace('/', ' ')}` })).toBeVisible()
    const sessions = bob.page.locator('.history-session h2')
    await expect(sessions.filter({ hasText: 'Alice Editor' }).first()).toBeVisible()
    await expect(sessions.filter({ hasText: 'Bob Manager' }).first()).toBeVisible()
    await expect(sessions.filter({ hasText: 'Dana Editor' })).toHaveCount(1)
    await expectNoAxeViolations(bob.page, 'history')

    // The version after Dana's change: the first title, the first value, her date.
    const danasChange = bob.page.locator('.history-event', { hasText: 'Due date' })
    await danasChange.getByRole('button', { name: /^View/ }).click()
    const version = bob.page.getByRole('region', { name: /^Version after change/ })
    await expect(version.locator('dd').nth(0)).toHaveText('Harbour bid')
    await expect(version).toContainText('40,000')
    const titleRow = version.locator('tr', { has: bob.page.getByRole('rowheader', { name: 'Title' }) })
    await expect(titleRow.locator('td')).toHaveText(['Harbour bid', 'Harbour bid, revised'])
    await expectNoAxeViolations(bob.page, 'history with a version open')

    const eventsBefore = await bob.page.locator('.history-event').count()
    await danasChange.getByRole('button', { name: /^Restore this version/ }).click()
    await bob.page.getByRole('dialog').getByRole('button', { name: 'Restore' }).click()
    await expect(bob.page.getByRole('status').filter({ hasText: 'Restored for everyone' })).toContainText('Title')
    await expect(a.title).toHaveValue('Harbour bid')
    await expect(a.value).toHaveValue('40000')
    await expect(editor(dana.page).title).toHaveValue('Harbour bid')
    // The restore is a new event, the newest, by the manager.
    await expect(bob.page.locator('.history-event')).toHaveCount(eventsBefore + 1)
    await expect(bob.page.locator('.history-session h2').first()).toContainText('Bob Manager')

    // An editor sees no restore button, and the API refuses them.
    await alice.page.goto(`/#/doc/${name}/history`)
    await expect(alice.page.locator('.history-event').first()).toBeVisible()
    await expect(alice.page.getByRole('button', { name: /^Restore/ })).toHaveCount(0)
    const seq = await alice.page.locator('.history-event').last().getAttribute('data-seq')
    const token = await fetchDevToken(sharedServerUrl(), { user: 'alice', role: 'editor', tenant: 'acme' })
    const refused = await fetch(`${sharedServerUrl()}/api/documents/${name}/history/${seq}/restore`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
    expect(refused.status).toBe(403)
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('ERR_RESTORE_NOT_ALLOWED')
    await expect(editor(dana.page).title).toHaveValue('Harbour bid')
  } finally {
    await alice.context.close()
    await bob.context.close()
    await dana.context.close()
  }
})

test('a long history loads a page at a time: older changes on demand', async ({ browser }) => {
  const name = `proposal/${uniqueId('long')}`
  const token = await fetchDevToken(sharedServerUrl(), { user: 'dana', name: 'Dana Editor', role: 'editor', tenant: 'acme' })
  const client = connectStockClient(sharedServerUrl().replace(/^http/, 'ws'), name, { params: { token, ext: '1' } })
  const bob = await signInAs(browser, BOB)
  try {
    await client.whenSynced()
    // 60 edits, each its own update (and event).
    for (let day = 1; day <= 60; day++) client.doc.getMap('meta').set('dueDate', `2027-03-${String((day % 28) + 1).padStart(2, '0')}`)
    const admin = await fetchDevToken(sharedServerUrl(), { user: 'root', role: 'admin', tenant: 'acme' })
    const stored = async () => ((await (await fetch(`${sharedServerUrl()}/admin/docs/${name}/events?limit=1000`, { headers: { authorization: `Bearer ${admin}` } })).json()) as { events: unknown[] }).events.length
    await expect.poll(stored).toBeGreaterThanOrEqual(60)
    await bob.page.goto(`/#/doc/${name}/history`)
    await expect(bob.page.locator('.history-event')).toHaveCount(50)
    const older = bob.page.getByRole('button', { name: 'Load older changes' })
    await older.click()
    await expect(bob.page.locator('.history-event')).toHaveCount(60)
    await expect(older).toBeHidden()
  } finally {
    client.destroy()
    await bob.context.close()
  }
})
