import { expect, sharedServerUrl, test } from './fixtures.ts'

test('the first load arrives compressed (brotli) and the app starts from it', async ({ browser }) => {
  const context = await browser.newContext({ baseURL: sharedServerUrl(), serviceWorkers: 'block' })
  try {
    const page = await context.newPage()
    const loaded: Array<{ url: string; encoding: string | undefined; transferred: number; size: number }> = []
    page.on('requestfinished', async (request) => {
      const response = await request.response()
      if (!response) return
      const sizes = await request.sizes()
      loaded.push({ url: new URL(request.url()).pathname, encoding: (await response.allHeaders())['content-encoding'], transferred: sizes.responseBodySize, size: (await response.body()).length })
    })
    await page.goto('/')
    await expect(page.getByLabel('User id')).toBeVisible()
    await expect.poll(() => loaded.map((entry) => entry.url).sort()).toEqual(expect.arrayContaining(['/', '/app.css', '/app.js']))
    for (const path of ['/', '/app.js', '/app.css']) {
      const entry = loaded.find((item) => item.url === path)!
      expect(entry.encoding, path).toBe('br')
      expect(entry.transferred, path).toBeLessThan(entry.size)
    }
    const total = loaded.reduce((sum, entry) => sum + entry.transferred, 0)
    test.info().annotations.push({ type: 'first-load bytes', description: `${total} transferred for ${loaded.reduce((sum, entry) => sum + entry.size, 0)} decoded` })
    console.log(`first load: ${total} bytes transferred (${loaded.map((entry) => `${entry.url} ${entry.transferred}`).join(', ')})`)
  } finally {
    await context.close()
  }
})
