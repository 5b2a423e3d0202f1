import { test as base, expect, type Browser, type BrowserContext, type Locator, type Page } from 'playwright/test'
import type { DocumentType } from '../shared/documentName.ts'
import type { Role } from '../shared/schemas.ts'
import { fetchDevToken, type TestUser } from '../shared/testing/devTokens.ts'

/** A person in a test: who signs in, and the colour-free name others see. */
export interface Person {
  readonly userId: string
  readonly name: string
  readonly role: Role
  readonly tenant?: string
  /** Signs in as a legal reviewer (edits legal content). */
  readonly legal?: boolean
}

export const ALICE: Person = { userId: 'alice', name: 'Alice Editor', role: 'editor' }
export const BOB: Person = { userId: 'bob', name: 'Bob Manager', role: 'manager' }
export const VERA: Person = { userId: 'vera', name: 'Vera Viewer', role: 'viewer' }

/** The server of this run (e2e/globalSetup.ts), or the one a test started itself. */
export const sharedServerUrl = (): string => {
  const url = process.env.E2E_HTTP_URL
  if (!url) throw new Error('E2E_HTTP_URL is not set: run through playwright.config.ts (its globalSetup starts the server)')
  return url
}

/** One person's browser: its own context (own IndexedDB, own service worker), one page. */
export interface Session {
  readonly context: BrowserContext
  readonly page: Page
  readonly person: Person
}

/** Opens the app as `person` through the real sign-in form. */
export const signInAs = async (browser: Browser, person: Person, serverUrl = sharedServerUrl()): Promise<Session> => {
  const context = await browser.newContext({ baseURL: serverUrl, viewport: { width: 1100, height: 800 } })
  const page = await context.newPage()
  page.on('pageerror', (error) => console.error(`[${person.userId}] page error: ${error.message}`))
  await page.goto('/')
  await page.getByLabel('User id').fill(person.userId)
  await page.getByLabel('Display name').fill(person.name)
  await page.getByLabel('Role').selectOption(person.role)
  await page.getByLabel('Tenant').fill(person.tenant ?? 'acme')
  if (person.legal) await page.getByLabel('Legal reviewer').check()
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByText(`${person.name} · ${person.role}`)).toBeVisible()
  return { context, page, person }
}

/** Opens `<type>/<id>` in the session's page and waits until it is synced with the server. */
export const openDocumentPage = async (session: Session, name: string): Promise<void> => {
  await session.page.goto(`/#/doc/${name}`)
  await expect(session.page.locator('.save-indicator')).toHaveAttribute('data-state', /saved|saving/)
}

const NEW_BUTTONS: Record<DocumentType, string> = { proposal: 'New proposal', customer: 'New customer', content: 'New content' }

/**
 * Creates a document the way a person does (the list's "new" button) and returns its name,
 * `<type>/<id>`, once its editor is open.
 */
export const createDocument = async (session: Session, type: DocumentType): Promise<string> => {
  const { page } = session
  await page.goto('/#/')
  await page.getByRole('button', { name: NEW_BUTTONS[type] }).click()
  await expect(page).toHaveURL(new RegExp(`#/doc/${type}/[\\w-]+$`))
  await expect(page.locator('.document-form')).toBeVisible()
  return new URL(page.url()).hash.slice('#/doc/'.length)
}

/**
 * Two people with the same new proposal open (the first creates it), each in a browser context of
 * its own; the contexts are closed whatever happens.
 */
export const withSharedProposal = async (
  browser: Browser,
  [first, second]: readonly [Person, Person],
  run: (a: Session, b: Session, name: string) => Promise<void>,
  { serverUrl = sharedServerUrl() }: { serverUrl?: string } = {},
): Promise<void> => {
  const sessions: Session[] = []
  try {
    sessions.push(await signInAs(browser, first, serverUrl), await signInAs(browser, second, serverUrl))
    const [a, b] = sessions as [Session, Session]
    const name = await createDocument(a, 'proposal')
    await expect(a.page.locator('.save-indicator')).toHaveAttribute('data-state', /saved|saving/)
    await openDocumentPage(b, name)
    await run(a, b, name)
  } finally {
    for (const session of sessions) await session.context.close()
  }
}

/** A document id no other test uses. */
export const uniqueId = (prefix: string): string => `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`

/** A real admin token for the admin HTTP API. */
export const adminToken = (serverUrl = sharedServerUrl(), user: TestUser = {}): Promise<string> =>
  fetchDevToken(serverUrl, { user: 'root', role: 'admin', tenant: 'acme', ...user })

/** Locators of the editor form, by label, so tests read like what a person does. */
export const editor = (page: Page) => ({
  title: page.getByLabel('Title', { exact: true }),
  /** The status and its move buttons; `statusValue` carries the current status in `data-status`. */
  status: page.getByRole('group', { name: 'Status' }),
  statusValue: page.locator('.status-current'),
  value: page.getByLabel('Value'),
  body: page.getByRole('textbox', { name: 'Proposal text' }),
  saveState: page.locator('.save-indicator'),
  toasts: page.locator('.toasts'),
})

/** A rich-text field's text as its users read it: without the other users' caret labels. */
export const textWithoutCarets = (field: Locator): Promise<string> =>
  field.evaluate((element) => {
    const copy = element.cloneNode(true) as HTMLElement
    for (const caret of copy.querySelectorAll('.ProseMirror-yjs-cursor')) caret.remove()
    return copy.textContent ?? ''
  })

export const test = base
export { expect }
