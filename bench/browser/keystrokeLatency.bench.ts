import { ALICE, BOB, editor, expect, test, withSharedProposal } from '../../e2e/fixtures.ts'
import type { Page } from 'playwright/test'
import { distribution } from '../statistics.ts'

/**
 * Keystroke to the other screen: Alice types into the proposal's Title and its text, one key at a
 * time; Bob's page is watched for each character. The time runs from Alice's `keydown` (her page's
 * clock) to the end of the Yjs transaction that brought the character into Bob's page (his DOM is
 * updated inside it, synchronously): both pages read the same machine clock.
 */
const KEYSTROKES = Number(process.env.KEYSTROKES ?? 60)
const PAUSE_MS = 40 // a fast typist: 25 keys per second

type Field = 'title' | 'body'

/**
 * Installs the recorders once per page: the typist's keydown times, and for the reader the time
 * each new character of the field being watched (`watching`) appeared. `times` is reset per field.
 */
const install = async (page: Page, role: 'typist' | 'reader') =>
  page.evaluate((role) => {
    const w = window as unknown as Recorder
    w.times = []
    w.watching = 'title'
    if (role === 'typist') {
      window.addEventListener('keydown', () => w.times.push(Date.now()), { capture: true })
      return
    }
    const title = [...document.querySelectorAll('label')].find((label) => label.textContent === 'Title')?.control
    const body = document.querySelector('.ProseMirror')
    // The body's text without the other users' caret labels (y-prosemirror puts their names in the DOM).
    const bodyText = () => {
      let length = body?.textContent?.length ?? 0
      for (const caret of body?.querySelectorAll('.ProseMirror-yjs-cursor') ?? []) length -= caret.textContent?.length ?? 0
      return length
    }
    const read = () => (w.watching === 'title' ? (title as HTMLInputElement).value.length : bodyText())
    let last = read()
    w.reset = () => {
      w.times = []
      last = read()
    }
    w.posalpro.handle.doc.on('afterTransaction', () => {
      const now = read()
      for (let i = last; i < now; i++) w.times.push(Date.now())
      last = Math.max(last, now)
    })
  }, role)

interface Recorder {
  posalpro: { handle: { doc: { on(event: string, listener: () => void): void } } }
  times: number[]
  watching: Field
  reset?: () => void
}

const watch = (page: Page, field: Field) =>
  page.evaluate((field) => {
    const w = window as unknown as Recorder
    w.watching = field
    w.times = []
    w.reset?.()
  }, field)

const measure = async (alice: Page, bob: Page, field: Field): Promise<number[]> => {
  await watch(alice, field)
  await watch(bob, field)
  const target = field === 'title' ? editor(alice).title : editor(alice).body
  await target.click()
  await alice.keyboard.press('End')
  for (let i = 0; i < KEYSTROKES; i++) {
    await alice.keyboard.press(String.fromCharCode(97 + (i % 26)))
    await alice.waitForTimeout(PAUSE_MS)
  }
  const times = (page: Page) => page.evaluate(() => (window as unknown as { times: number[] }).times)
  await expect.poll(async () => (await times(bob)).length, { timeout: 30_000 }).toBeGreaterThanOrEqual(KEYSTROKES)
  const sent = await times(alice)
  const seen = await times(bob)
  return sent.slice(0, KEYSTROKES).map((at, i) => seen[i]! - at)
}

test('keystroke to the other screen: title and body, p50/p95', async ({ browser }) => {
  await withSharedProposal(browser, [ALICE, BOB], async (alice, bob) => {
    await install(alice.page, 'typist')
    await install(bob.page, 'reader')
    const rows: string[] = []
    for (const field of ['title', 'body'] as const) {
      const latencies = await measure(alice.page, bob.page, field)
      const { count, p50, p95, max } = distribution(latencies)
      rows.push(`${field.padEnd(6)} n=${count}  p50 ${p50} ms  p95 ${p95} ms  max ${max} ms`)
    }
    console.log(`\nkeystroke → other screen (${KEYSTROKES} keys per field, ${PAUSE_MS} ms apart)\n${rows.join('\n')}`)
  })
})
