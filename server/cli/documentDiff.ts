/** One field that differs between two versions of a document. */
export interface FieldDifference {
  readonly path: string
  readonly before: unknown
  readonly after: unknown
}

/**
 * Field-by-field differences between two plain-JSON documents (as `documentToJSON` gives them):
 * map roots key by key, rich-text roots as a whole.
 */
export const diffDocuments = (before: Record<string, unknown>, after: Record<string, unknown>): FieldDifference[] => {
  const differences: FieldDifference[] = []
  for (const root of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const a = before[root]
    const b = after[root]
    if (isRecord(a) || isRecord(b)) {
      const left = isRecord(a) ? a : {}
      const right = isRecord(b) ? b : {}
      for (const key of [...new Set([...Object.keys(left), ...Object.keys(right)])].sort()) {
        if (JSON.stringify(left[key]) !== JSON.stringify(right[key])) differences.push({ path: `${root}.${key}`, before: left[key], after: right[key] })
      }
    } else if (JSON.stringify(a) !== JSON.stringify(b)) {
      differences.push({ path: root, before: a, after: b })
    }
  }
  return differences
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)
