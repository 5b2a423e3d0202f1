import type { FieldChange } from './ruleTypes.ts'

/**
 * Reading and rendering the values a change carries. Values come from untrusted updates, so
 * nothing here assumes their shape and nothing throws on them.
 */

/** Nesting beyond this is never considered equal (fail closed: the change is treated as real). */
const MAX_COMPARE_DEPTH = 32

/** Structural equality of plain values (primitives, arrays, plain objects), as Yjs map values are. */
export const sameValue = (a: unknown, b: unknown, depth = 0): boolean => {
  if (Object.is(a, b)) return true
  if (depth >= MAX_COMPARE_DEPTH) return false
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false
    return a.every((item, index) => sameValue(item, b[index], depth + 1))
  }
  if (!isPlainObject(a) || !isPlainObject(b)) return false
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  return keys.every((key) => Object.hasOwn(b, key) && sameValue(a[key], b[key], depth + 1))
}

const isPlainObject = (value: object): value is Record<string, unknown> => {
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/**
 * A map change that leaves the value as it was (a key re-set to the same value). Rules about
 * permissions and transitions ignore these: nothing changes, so there is nothing to forbid or to
 * review. Rules about value validity (`schema`, `customer-required`) still check every write.
 */
export const isNoOp = (change: FieldChange): boolean =>
  change.action !== 'edit' && change.oldValue !== undefined && sameValue(change.oldValue, change.newValue)

/** The change leaves the key without a value (a delete). */
export const removesValue = (change: FieldChange): boolean => change.action !== 'edit' && change.newValue === undefined

/** A short, printable rendering of an untrusted value for a message. */
export const describeValue = (value: unknown, max = 40): string => {
  let text: string
  try {
    text = JSON.stringify(value) ?? String(value)
  } catch {
    text = typeof value === 'bigint' ? `${value}n` : Object.prototype.toString.call(value)
  }
  const printable = text.replace(/\p{Cc}/gu, '?')
  return printable.length > max ? `${printable.slice(0, max)}…` : printable
}
