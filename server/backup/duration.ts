/**
 * Durations as operators write them: a whole number and one unit, `90s`, `15m`, `6h`, `30d`.
 * Strict: anything else (`6 h`, `1.5h`, `6H`, `6hours`, a bare number) is refused rather than
 * guessed at, since a backup schedule read wrongly is found out only when a backup is needed.
 */
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/** The duration in milliseconds, or null when the text is not `<digits><s|m|h|d>` (or is 0 or absurdly long). */
export const parseDuration = (text: string): number | null => {
  const match = /^(\d{1,9})([smhd])$/.exec(text)
  if (!match) return null
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]
  return ms > 0 && ms <= 10 * 365 * UNIT_MS.d ? ms : null
}
