import type { Page } from 'playwright/test'
import { ALICE, BOB, createDocument, editor, expect, signInAs, test, textWithoutCarets, type Person } from './fixtures.ts'

test('a document never downloaded to this device, opened offline, says it is not available offline; back online it opens', async ({ browser }) => {
  const alice = await signInAs(browser, ALICE)
  const bob = await signInAs(browser, BOB)
  try {
    const name = await createDocument(alice, 'proposal')
    await editor(alice.page).title.fill('Only on the server')
    await expect(editor(alice.page).saveState).toHaveText('Saved')

    await bob.context.setOffline(true)
    await bob.page.evaluate((hash) => (location.hash = hash), `#/doc/${name}`)
    const b = editor(bob.page)
    await expect(bob.page.getByRole('alert')).toHaveText(/^Not available offline/)
    await expect(b.saveState).toHaveAttribute('data-state', 'unavailable')
    await expect(b.saveState).toHaveText('Not available offline')
    await expect(b.title).toHaveCount(0)

    await bob.context.setOffline(false)
    await expect(b.title).toHaveValue('Only on the server')
    await expect(b.saveState).toHaveText('Saved')
    await expect(bob.page.getByRole('alert')).toHaveCount(0)
  } finally {
    await alice.context.close()
    await bob.context.close()
  }
})

/** Holds every message the server sends to `page`'s sockets until the returned function is called. */
const holdServerMessages = async (page: Page): Promise<() => void> => {
  let held: Array<() => void> | null = []
  await page.routeWebSocket(/.*/, (socket) => {
    const server = socket.connectToServer()
    server.onMessage((message) => {
      if (held) held.push(() => socket.send(message))
      else socket.send(message)
    })
  })
  return () => {
    const queued = held ?? []
    held = null
    for (const send of queued) send()
  }
}

test('legal text opened for the first time by a non-legal user accepts no keystroke, before and after the legal flag arrives', async ({ browser }) => {
  const lawyer: Person = { ...BOB, userId: 'lena', name: 'Lena Legal', legal: true }
  const legal = await signInAs(browser, lawyer)
  const alice = await signInAs(browser, ALICE)
  try {
    const name = await createDocument(legal, 'content')
    await legal.page.getByLabel('Legal text (edited by legal reviewers only)').check()
    await legal.page.getByRole('textbox', { name: 'Content text' }).click()
    await legal.page.keyboard.type('Liability is limited.')
    await expect(legal.page.locator('.save-indicator')).toHaveText('Saved')

    // Alice's first open, with the server's answer slow to come: nothing is editable meanwhile.
    const release = await holdServerMessages(alice.page)
    await alice.page.goto(`/#/doc/${name}`)
    await expect(alice.page.locator('.save-indicator')).toHaveAttribute('data-state', 'connecting')
    await alice.page.keyboard.type('typed too early')
    await expect(alice.page.locator('[contenteditable="true"]')).toHaveCount(0)

    release()
    const body = alice.page.getByRole('textbox', { name: 'Content text' })
    await expect.poll(() => textWithoutCarets(body)).toBe('Liability is limited.')
    await expect(body).toHaveAttribute('contenteditable', 'false')
    await body.click()
    await alice.page.keyboard.type('not legal')
    await expect(alice.page.locator('.save-indicator')).toHaveText('Saved')
    await expect.poll(() => textWithoutCarets(body)).toBe('Liability is limited.')
    await expect(alice.page.locator('.toasts')).not.toContainText('held for review')
  } finally {
    await legal.context.close()
    await alice.context.close()
  }
})

test('legal text turns read-only for a non-legal user the moment the flag changes, and a stale local copy is not trusted before the server answers', async ({ browser }) => {
  const lawyer: Person = { ...BOB, userId: 'lena', name: 'Lena Legal', legal: true }
  const legal = await signInAs(browser, lawyer)
  const alice = await signInAs(browser, ALICE)
  try {
    const name = await createDocument(legal, 'content')
    const legalFlag = legal.page.getByLabel('Legal text (edited by legal reviewers only)')
    await legal.page.getByRole('textbox', { name: 'Content text' }).click()
    await legal.page.keyboard.type('Draft terms.')
    await expect(legal.page.locator('.save-indicator')).toHaveText('Saved')

    await alice.page.goto(`/#/doc/${name}`)
    const body = alice.page.getByRole('textbox', { name: 'Content text' })
    await expect.poll(() => textWithoutCarets(body)).toBe('Draft terms.')
    await expect(body).toHaveAttribute('contenteditable', 'true')

    // Live: the flag flips while Alice has it open.
    await legalFlag.check()
    await expect(body).toHaveAttribute('contenteditable', 'false')
    await expect(body).toHaveAttribute('aria-readonly', 'true')
    await legalFlag.uncheck()
    await expect(body).toHaveAttribute('contenteditable', 'true')

    // Alice leaves with a copy that says "not legal"; it becomes legal meanwhile.
    await alice.page.goto('/#/')
    await legalFlag.check()
    await expect(legal.page.locator('.save-indicator')).toHaveText('Saved')
    const release = await holdServerMessages(alice.page)
    await alice.page.reload()
    await alice.page.goto(`/#/doc/${name}`)
    await expect.poll(() => textWithoutCarets(body)).toBe('Draft terms.')
    await expect(alice.page.locator('.save-indicator')).toHaveAttribute('data-state', 'connecting')
    await expect(body).toHaveAttribute('contenteditable', 'false')
    release()
    await expect(alice.page.locator('.save-indicator')).toHaveText('Saved')
    await expect(body).toHaveAttribute('contenteditable', 'false')
  } finally {
    await legal.context.close()
    await alice.context.close()
  }
})
