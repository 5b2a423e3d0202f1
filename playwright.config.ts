import { defineConfig } from 'playwright/test'

/**
 * End-to-end tests in real Chromium against the real server (e2e/). The browser is Debian's
 * Chromium (`apt-get install chromium`); `CHROMIUM_PATH` points elsewhere. The global setup starts
 * the server (dev mode, a free port, a temp data dir) and removes it afterwards; the demo app must
 * be built first (`npm run test:e2e` builds it).
 */
export default defineConfig({
  testDir: 'e2e',
  testMatch: '**/*.spec.ts',
  globalSetup: './e2e/globalSetup.ts',
  // A test drives two browsers and a server on a 2-core machine: give waits room, never race them.
  timeout: 90_000,
  expect: { timeout: 20_000 },
  workers: 2,
  fullyParallel: false,
  forbidOnly: true,
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  outputDir: 'test-results',
  use: {
    browserName: 'chromium',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      // Without the background-networking flags Chromium keeps calling home, which this
      // network refuses; --no-sandbox because CI runs as root.
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    },
    // Actions and navigations wait no longer than assertions: a hang fails with the step that hung.
    actionTimeout: 20_000,
    navigationTimeout: 20_000,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
})
