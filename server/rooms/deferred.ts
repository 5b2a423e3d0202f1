/** A promise with its resolve and reject, for a room's `whenReady` callers before it has loaded. */
export const deferred = () => {
  let resolve!: () => void
  let reject!: (error: unknown) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  promise.catch(() => {}) // a load failure is reported by the registry; nobody may be waiting
  return { promise, resolve, reject }
}
