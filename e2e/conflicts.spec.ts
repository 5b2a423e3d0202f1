import { ALICE, BOB, editor, expect, test, withSharedProposal, type Session } from './fixtures.ts'

/**
 * The later edit wins, and the person whose value was replaced sees both values on the field.
 * Bob changes the due date offline; Alice changes it online afterwards; Bob comes back: Alice's
 * date stays (whatever Yjs's own order would have kept), Bob is shown the conflict under the
 * field until he dismisses it, and Alice is told her value replaced his.
 */
const dueDate = (session: Session) => session.page.getByLabel('Due date', { exact: true })
const conflictPanel = (session: Session) => session.page.locator('.field-conflict')

const bobOfflineThenAliceOnline = async (alice: Session, bob: Session) => {
  await expect(editor(bob.page).saveState).toHaveText('Saved')
  await bob.context.setOffline(true)
  await expect(editor(bob.page).saveState).toHaveAttribute('data-state', 'offline')
  await dueDate(bob).fill('2026-12-10')
  await expect(editor(bob.page).saveState).toHaveText(/^Offline — \d+ changes? kept on this device$/)
  // Later, online: Alice's edit is the newer one.
  await dueDate(alice).fill('2026-12-12')
  await expect(editor(alice.page).saveState).toHaveText('Saved')
  await bob.context.setOffline(false)
  await expect(editor(bob.page).saveState).toHaveText('Saved')
  // Both pages show Alice's date.
  await expect(dueDate(alice)).toHaveValue('2026-12-12')
  await expect(dueDate(bob)).toHaveValue('2026-12-12')
  // Bob sees both values on the field; Alice is told.
  const panel = conflictPanel(bob)
  await expect(panel).toHaveCount(1)
  await expect(panel).toContainText(/Alice Editor set this to 12 Dec( 2026)? at the same time; your value 10 Dec( 2026)? was replaced/)
  await expect(bob.page.locator('.field', { has: dueDate(bob) }).locator('.field-conflict')).toHaveCount(1)
  await expect(editor(alice.page).toasts).toContainText('Your Due date replaced a value Bob Manager set at the same time')
  await expect(conflictPanel(alice)).toHaveCount(0)
  return panel
}

test('conflicts: Use mine makes the replaced value win everywhere, and the conflict is gone for good', async ({ browser }) => {
  await withSharedProposal(browser, [ALICE, BOB], async (alice, bob) => {
    const panel = await bobOfflineThenAliceOnline(alice, bob)
    await panel.getByRole('button', { name: 'Use mine' }).click()
    await expect(dueDate(bob)).toHaveValue('2026-12-10')
    await expect(dueDate(alice)).toHaveValue('2026-12-10')
    await expect(conflictPanel(bob)).toHaveCount(0)
    await expect(editor(bob.page).saveState).toHaveText('Saved')
    await bob.page.reload()
    await expect(editor(bob.page).saveState).toHaveText('Saved')
    await expect(dueDate(bob)).toHaveValue('2026-12-10')
    await expect(conflictPanel(bob)).toHaveCount(0)
  })
})

test('conflicts: the panel stays across a reload until Keep theirs dismisses it for good', async ({ browser }) => {
  await withSharedProposal(browser, [ALICE, BOB], async (alice, bob) => {
    await bobOfflineThenAliceOnline(alice, bob)
    // Not dismissed yet: after a reload the server shows it again.
    await bob.page.reload()
    await expect(conflictPanel(bob)).toHaveCount(1)
    await conflictPanel(bob).getByRole('button', { name: 'Keep theirs' }).click()
    await expect(conflictPanel(bob)).toHaveCount(0)
    await bob.page.reload()
    await expect(editor(bob.page).saveState).toHaveText('Saved')
    await expect(dueDate(bob)).toHaveValue('2026-12-12')
    await expect(dueDate(alice)).toHaveValue('2026-12-12')
    await expect(conflictPanel(bob)).toHaveCount(0)
  })
})
