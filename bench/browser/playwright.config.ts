import { defineConfig } from 'playwright/test'
import base from '../../playwright.config.ts'

/**
 * The browser benchmarks (bench/browser/*.bench.ts): the e2e suite's browser and server setup, run
 * one at a time so the two contexts of a measurement have the machine to themselves. They print
 * figures and fail only when a keystroke never arrives.
 */
export default defineConfig({
  ...base,
  testDir: '.',
  testMatch: '**/*.bench.ts',
  globalSetup: '../../e2e/globalSetup.ts',
  workers: 1,
  timeout: 300_000,
  reporter: [['list']],
  outputDir: '../results/browser',
})
