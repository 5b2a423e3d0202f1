import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Polls `condition` until it holds or the deadline passes. Resolves true/false instead of
 * throwing: in a benchmark a timeout is a figure to report (undelivered, not converged), not a
 * crash.
 */
export const waitUntil = async (
  condition: () => boolean,
  { timeoutMs = 10_000, intervalMs = 5 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<boolean> => {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    if (condition()) return true
    if (performance.now() >= deadline) return false
    await sleep(intervalMs)
  }
}
