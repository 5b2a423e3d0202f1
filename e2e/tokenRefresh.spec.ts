import { fetchDevToken } from '../shared/testing/devTokens.ts'
import { createDocument, editor, expect, sharedServerUrl, test } from './fixtures.ts'

test('a stored token about to expire is replaced before the app connects (getToken), and the new one is kept; it travels in Sec-WebSocket-Protocol, never in the URL', async ({ browser }) => {
  const server = sharedServerUrl()
  const context = await browser.newContext({ baseURL: server })
  try {
    // Signed in an hour ago: the stored token has seconds left.
    const token = await fetchDevToken(server, { user: 'tess', role: 'editor', tenant: 'acme', name: 'Tess', ttl: 20 })
    const expiresAt = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp * 1000
    await context.addInitScript(
      ([session]) => {
        if (!localStorage.getItem('posalpro.session')) localStorage.setItem('posalpro.session', session!)
      },
      [JSON.stringify({ userId: 'tess', name: 'Tess', role: 'editor', tenant: 'acme', legal: false, token, expiresAt })],
    )
    // The subprotocols each socket offers (Playwright shows a socket's URL, not its handshake headers).
    await context.addInitScript(() => {
      const offered: unknown[] = ((window as unknown as { offeredProtocols: unknown[] }).offeredProtocols = [])
      const Native = window.WebSocket
      window.WebSocket = class extends Native {
        constructor(url: string | URL, protocols?: string | string[]) {
          offered.push(protocols)
          super(url, protocols)
        }
      }
    })
    const page = await context.newPage()
    const socketUrls: string[] = []
    page.on('websocket', (socket) => socketUrls.push(socket.url()))
    await createDocument({ context, page, person: { userId: 'tess', name: 'Tess', role: 'editor' } }, 'proposal')
    const fields = editor(page)
    await fields.title.fill('Saved with a fresh token')
    await expect(fields.saveState).toHaveText('Saved')

    const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('posalpro.session')!) as { token: string; expiresAt: number })
    expect(stored.token).not.toBe(token)
    expect(stored.expiresAt).toBeGreaterThan(Date.now() + 30 * 60_000)
    expect(socketUrls.length).toBeGreaterThan(0)
    for (const url of socketUrls) expect(new URL(url).searchParams.has('token')).toBe(false)
    const offered = await page.evaluate(() => (window as unknown as { offeredProtocols: unknown[] }).offeredProtocols)
    expect(offered.length).toBe(socketUrls.length)
    for (const protocols of offered) expect(protocols).toEqual(['posalpro-collab', `bearer.${stored.token}`])
  } finally {
    await context.close()
  }
})
