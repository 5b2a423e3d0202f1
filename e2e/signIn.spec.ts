import { expect, sharedServerUrl, test } from './fixtures.ts'

test('the sign-in form loads without console errors, and its user-id pattern checks what the server checks', async ({ browser }) => {
  const context = await browser.newContext({ baseURL: sharedServerUrl() })
  try {
    const page = await context.newPage()
    const problems: string[] = []
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text())
    })
    page.on('pageerror', (error) => problems.push(error.message))
    await page.goto('/')
    const userId = page.getByLabel('User id')
    await expect(userId).toBeVisible()
    // The pattern is compiled when the field is validated; an invalid one is logged then.
    for (const [value, valid] of [
      ['alice', true],
      ['a.b_c@d-e', true],
      ['-alice', false],
      ['al ice', false],
      ['x'.repeat(65), false],
    ] as const) {
      await userId.fill(value)
      expect(await userId.evaluate((input: HTMLInputElement) => input.checkValidity()), value).toBe(valid)
    }
    expect(problems).toEqual([])
  } finally {
    await context.close()
  }
})
