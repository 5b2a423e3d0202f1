import type { DocumentHandle } from '../client/browser.ts'
import { ALICE, BOB, editor, expect, signInAs, test } from './fixtures.ts'

test('a new document is created once, by its creator: the shared link only opens it, also when reopened', async ({ browser }) => {
  const alice = await signInAs(browser, ALICE)
  const bob = await signInAs(browser, BOB)
  try {
    const a = editor(alice.page)
    const b = editor(bob.page)
    await alice.page.getByRole('button', { name: 'New proposal' }).click()
    await expect(a.title).toHaveValue('Untitled proposal')
    await a.title.fill('Fleet renewal')
    await a.status.getByRole('button', { name: 'Move to In review' }).click()
    await alice.page.getByRole('dialog').getByRole('button', { name: 'Move to In review' }).click()
    await expect(a.saveState).toHaveText('Saved')

    // What the address bar shows is the plain document link: nothing in it says "create".
    const link = alice.page.url()
    expect(new URL(link).hash).toMatch(/^#\/doc\/proposal\/[\w-]+$/)

    // Bob opens the link Alice shares (as it is): he sees her document, and it stays hers.
    await bob.page.goto(link)
    await expect(b.saveState).toHaveText('Saved')
    await expect(b.title).toHaveValue('Fleet renewal')
    await expect(b.statusValue).toHaveAttribute('data-status', 'in_review')
    const owner = (page: typeof alice.page) =>
      page.evaluate(() => (window as unknown as { posalpro: { handle: DocumentHandle<'proposal'> } }).posalpro.handle.model.meta.get('ownerId'))
    expect(await owner(bob.page)).toBe('alice')
    await expect(a.title).toHaveValue('Fleet renewal')
    await expect(a.statusValue).toHaveAttribute('data-status', 'in_review')

    // Alice reopens her link: nothing is written again.
    await alice.page.reload()
    await expect(a.saveState).toHaveText('Saved')
    await expect(a.title).toHaveValue('Fleet renewal')
    await expect(b.title).toHaveValue('Fleet renewal')
    expect(await owner(alice.page)).toBe('alice')
  } finally {
    await alice.context.close()
    await bob.context.close()
  }
})

test('an old link with the "new" marker opens the document without writing to it', async ({ browser }) => {
  const alice = await signInAs(browser, ALICE)
  const bob = await signInAs(browser, BOB)
  try {
    await alice.page.getByRole('button', { name: 'New proposal' }).click()
    const a = editor(alice.page)
    await expect(a.title).toHaveValue('Untitled proposal')
    await a.title.fill('Kept title')
    await expect(a.saveState).toHaveText('Saved')
    const hash = new URL(alice.page.url()).hash.replace(/\?new=1$/, '')

    await bob.page.goto(`/${hash}?new=1`)
    const b = editor(bob.page)
    await expect(b.saveState).toHaveText('Saved')
    await expect(b.title).toHaveValue('Kept title')
    await expect(bob.page).toHaveURL(new RegExp(`${hash.replace(/[/#]/g, '\\$&')}$`))
    await expect(a.title).toHaveValue('Kept title')
  } finally {
    await alice.context.close()
    await bob.context.close()
  }
})
