/**
 * The smallest single splice that turns one string into another: the common prefix and suffix are
 * kept, what lies between is deleted and replaced. Applied to a Y.Text as one delete and one insert,
 * it touches only what changed, so a concurrent edit elsewhere in the field survives (a whole
 * replacement would delete the other person's characters along with one's own).
 * Positions are UTF-16 code units, as Yjs counts them; a surrogate pair is never split.
 *
 * Where a repeated character makes the splice ambiguous ("a b" → "a  b": which space is new?), the
 * caret decides when it is known: `caret` is where the edit ended in `to` (an input's selection end
 * after typing), and the splice ends there. Without it the leftmost-longest prefix wins, which puts a
 * typed space after a collaborator's space that arrived at the caret: the run then reads " by Bob"
 * on the typist's screen but "by Bob " everywhere once the characters are merged.
 */
export interface TextSplice {
  readonly index: number
  readonly deleteCount: number
  readonly insert: string
}

export const textSplice = (from: string, to: string, caret?: number): TextSplice => {
  const shorter = Math.min(from.length, to.length)
  const atCaret = caret !== undefined && Number.isInteger(caret) && caret >= 0 && caret <= to.length
  // With a caret the suffix is matched first and stops at the caret; the prefix takes what is left.
  let suffix = atCaret ? commonSuffix(from, to, Math.min(shorter, to.length - caret)) : 0
  let prefix = 0
  while (prefix < shorter - suffix && from.charCodeAt(prefix) === to.charCodeAt(prefix)) prefix++
  if (prefix > 0 && isHighSurrogate(from.charCodeAt(prefix - 1))) prefix--
  if (!atCaret) suffix = commonSuffix(from, to, shorter - prefix)
  if (suffix > 0 && isLowSurrogate(from.charCodeAt(from.length - suffix))) suffix--
  return { index: prefix, deleteCount: from.length - prefix - suffix, insert: to.slice(prefix, to.length - suffix) }
}

const commonSuffix = (from: string, to: string, limit: number): number => {
  let suffix = 0
  while (suffix < limit && from.charCodeAt(from.length - 1 - suffix) === to.charCodeAt(to.length - 1 - suffix)) suffix++
  return suffix
}

/** Applies the splice from `from` to `to` to a Y.Text-like target (call it inside one transaction). */
export const applyTextSplice = (
  target: { insert(index: number, text: string): void; delete(index: number, length: number): void },
  from: string,
  to: string,
  caret?: number,
): TextSplice => {
  const splice = textSplice(from, to, caret)
  if (splice.deleteCount > 0) target.delete(splice.index, splice.deleteCount)
  if (splice.insert.length > 0) target.insert(splice.index, splice.insert)
  return splice
}

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff
const isLowSurrogate = (code: number): boolean => code >= 0xdc00 && code <= 0xdfff
