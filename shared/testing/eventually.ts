/**
 * The one polling helper for assertions that become true eventually: retries `check` until it
 * stops throwing or the deadline passes, then rethrows its last error. Tests never sleep.
 */
export const eventually = async <T>(check: () => T | Promise<T>, { timeoutMs = 30_000, intervalMs = 20 } = {}): Promise<T> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await check()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, intervalMs))
    }
  }
}

/** Resolves when `emitter` emits `event` once (with its arguments), or rejects after the timeout. */
export const nextEvent = <T extends unknown[]>(
  emitter: { once(event: string, listener: (...args: T) => void): unknown },
  event: string,
  timeoutMs = 10_000,
): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" within ${timeoutMs} ms`)), timeoutMs)
    emitter.once(event, (...args: T) => {
      clearTimeout(timer)
      resolve(args)
    })
  })
