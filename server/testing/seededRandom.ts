/**
 * A tiny seeded PRNG (mulberry32) for randomized tests: the same seed gives the same sequence of
 * draws, so a failing run's operations can be replayed from the seed it prints.
 */

export interface SeededRandom {
  readonly seed: number
  /** Uniform in [0, 1). */
  next(): number
  /** Uniform integer in [0, n). */
  int(n: number): number
  /** true with probability p. */
  chance(p: number): boolean
  /** One item of a non-empty list. */
  pick<T>(items: readonly T[]): T
}

export const seededRandom = (seed: number): SeededRandom => {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number): number => Math.floor(next() * n)
  return {
    seed: seed >>> 0,
    next,
    int,
    chance: (p) => next() < p,
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new Error('pick from an empty list')
      return items[int(items.length)]!
    },
  }
}

/**
 * A seed from an environment variable (a decimal integer), or a fresh one. Throws on a value that
 * is not a non-negative integer, so a typo in a replay command is not silently a different run.
 */
export const seedFromEnv = (name: string, fallback: () => number = () => Date.now() % 2 ** 32): number => {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback() >>> 0
  if (!/^\d+$/.test(raw) || Number(raw) >= 2 ** 32) throw new Error(`${name} must be an integer in [0, 2^32), got "${raw}"`)
  return Number(raw)
}

/** A positive integer from an environment variable, or the default. */
export const countFromEnv = (name: string, fallback: number): number => {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`)
  return Number(raw)
}
