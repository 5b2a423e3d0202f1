import { connectStockClient } from '../shared/testing/stockClient.ts'
import { fetchDevToken } from '../shared/testing/devTokens.ts'
import { expectNoAxeViolations } from './axe.ts'
import { expect, sharedServerUrl, signInAs, test, uniqueId } from './fixtures.ts'

test('the operations view (admins) charts the server’s own metrics live: non-zero update rate and latency while a workload runs; the 1 % conflict target is drawn; no axe violations', async ({ browser }) => {
  const tenant = uniqueId('ops')
  const admin = await signInAs(browser, { userId: 'root', name: 'Root Admin', role: 'admin', tenant })
  const editor = await signInAs(browser, { userId: 'alice', name: 'Alice Editor', role: 'editor', tenant })
  // A scripted workload: one writer typing into a proposal's title, a few updates a second.
  const httpUrl = sharedServerUrl()
  const client = connectStockClient(httpUrl.replace(/^http/, 'ws'), 'proposal/load', { params: { token: await fetchDevToken(httpUrl, { user: 'writer', tenant }) } })
  let typing: ReturnType<typeof setInterval> | null = null
  try {
    await client.whenSynced()
    typing = setInterval(() => client.doc.getText('title').insert(0, 'x'), 100)

    const { page } = admin
    await page.getByRole('link', { name: 'Operations' }).click()
    await expect(page.getByRole('heading', { level: 1, name: 'Operations' })).toBeVisible()
    const rate = page.locator('[data-chart="Update rate"] .ops-latest')
    await expect(rate).toHaveText(/^(?!0\.0 )\d+\.\d updates\/s$/)
    await expect(page.locator('[data-chart="Sync latency (receive → durable)"] .ops-latest')).toHaveText(/^p50 \d+\.\d\d ms, p95 \d+\.\d\d ms$/)
    await expect(page.locator('[data-chart="Connections and loaded documents"] .ops-latest')).not.toHaveText(/^0 connections/)
    await expect(page.locator('[data-chart="Update rate"] polyline')).not.toHaveCount(0)
    await expect(page.locator('[data-chart="Rejections and conflicts"] .chart-threshold')).toHaveAttribute('data-threshold', '1')
    await page.locator('.ops-grid:not([aria-busy])').waitFor()
    await expectNoAxeViolations(page, 'operations')

    // Not for other roles: no link, and the route shows the document list.
    await expect(editor.page.getByRole('link', { name: 'Operations' })).toHaveCount(0)
    await editor.page.goto('/#/ops')
    await expect(editor.page.getByRole('heading', { level: 1, name: 'Documents' })).toBeVisible()
  } finally {
    if (typing) clearInterval(typing)
    client.destroy()
    await admin.context.close()
    await editor.context.close()
  }
})
