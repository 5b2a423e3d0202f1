import { expectNoAxeViolations } from './axe.ts'
import { ALICE, expect, sharedServerUrl, test } from './fixtures.ts'

test('every view passes axe; each view change moves focus to its level-one heading and announces it', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 }, baseURL: sharedServerUrl() })
  try {
    const page = await context.newPage()
    await page.goto('/')
    await expect(page.getByRole('heading', { level: 1, name: 'Sign in to PosalPro' })).toBeVisible()
    await expectNoAxeViolations(page, 'sign-in')

    await page.getByLabel('User id').fill(ALICE.userId)
    await page.getByLabel('Display name').fill(ALICE.name)
    await page.getByRole('button', { name: 'Sign in' }).click()
    // The list page has its own level-one heading, and focus lands on it.
    const listHeading = page.getByRole('heading', { level: 1, name: 'Documents' })
    await expect(listHeading).toBeFocused()
    await expect(page.locator('#view-announcer')).toHaveText('Documents')
    await page.locator('.document-lists:not([aria-busy])').waitFor()
    await expectNoAxeViolations(page, 'document list')

    for (const [button, type, heading] of [
      ['New proposal', 'proposal', 'Untitled proposal'],
      ['New customer', 'customer', 'New customer'],
      ['New content', 'content', 'Untitled content'],
    ] as const) {
      await page.goto('/#/')
      await expect(listHeading).toBeFocused()
      await page.getByRole('button', { name: button }).click()
      const title = page.getByRole('heading', { level: 1, name: heading })
      await expect(title).toBeVisible()
      await expect(page.locator('h1')).toBeFocused()
      // Announced as the heading read when the view opened (before the document loaded: its type and id).
      await expect(page.locator('#view-announcer')).toContainText(type)
      await expect(page.locator('.save-indicator')).toHaveAttribute('data-state', /saved|saving/)
      await expectNoAxeViolations(page, type)
    }
  } finally {
    await context.close()
  }
})

test('the rich-text editor shows a focus ring while it has focus', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 }, baseURL: sharedServerUrl() })
  try {
    const page = await context.newPage()
    await page.goto('/')
    await page.getByLabel('User id').fill(ALICE.userId)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('button', { name: 'New content' }).click()
    const body = page.getByRole('textbox', { name: 'Content text' })
    // Reached by keyboard (Tab from the last toolbar button), as a keyboard user would.
    await page.getByRole('button', { name: 'Redo (Ctrl+Shift+Z)' }).focus()
    await page.keyboard.press('Tab')
    await expect(body).toBeFocused()
    const ring = await body.evaluate((element) => {
      const style = getComputedStyle(element)
      return { style: style.outlineStyle, width: parseFloat(style.outlineWidth) }
    })
    expect(ring.style).not.toBe('none')
    expect(ring.width).toBeGreaterThanOrEqual(2)
  } finally {
    await context.close()
  }
})
