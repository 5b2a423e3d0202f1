import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Page } from 'playwright/test'
import { expect } from './fixtures.ts'

/** axe-core's browser bundle, read once (the devDependency, not a copy). */
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

/**
 * Runs axe-core on the page as it is now and expects no violations (every rule axe enables by
 * default, WCAG 2.x A/AA included). The app's Content-Security-Policy allows scripts from the
 * server only, which would refuse an injected script tag, so the bundle is evaluated through the
 * DevTools protocol instead (not subject to the page's CSP).
 */
export const expectNoAxeViolations = async (page: Page, view: string): Promise<void> => {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE)
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (context: Document) => Promise<{ violations: Array<{ id: string; help: string; nodes: Array<{ target: unknown[] }> }> }> } }).axe
    const result = await axe.run(document)
    return result.violations.map((violation) => ({ rule: violation.id, help: violation.help, nodes: violation.nodes.map((node) => node.target.join(' ')) }))
  })
  expect(violations, `axe violations on the ${view} view`).toEqual([])
}
