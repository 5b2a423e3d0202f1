import type { TextBlock, TextRun } from './richTextBlocks.ts'

/** A run of a diff: text as it reads, with its formats, and whether it is in both, only the new or only the old. */
export interface DiffRun extends TextRun {
  readonly change: 'same' | 'inserted' | 'deleted'
}

/** A block of the diff: its kind and runs; `change` says when the whole block is new or gone. */
export interface DiffBlock {
  readonly kind: string
  readonly runs: readonly DiffRun[]
}

/**
 * The most token pairs the word-level comparison weighs (its table has one cell per pair). Beyond
 * it, what lies between the common beginning and end is shown as deleted then inserted whole:
 * still correct, only coarser, and never more memory than this bound.
 */
export const MAX_DIFF_CELLS = 4_000_000

/** A word, a run of spaces, one punctuation mark, or a block start; with its formats. */
interface Token {
  readonly text: string
  readonly bold: boolean
  readonly italic: boolean
  /** Set on a block start: the block's kind. */
  readonly block?: string
}

const sameToken = (a: Token, b: Token): boolean => a.text === b.text && a.bold === b.bold && a.italic === b.italic && a.block === b.block

const WORDS = /[\p{L}\p{N}_]+|\s+|[^\p{L}\p{N}_\s]/gu

const tokensOf = (blocks: readonly TextBlock[]): Token[] => {
  const tokens: Token[] = []
  for (const block of blocks) {
    tokens.push({ text: '', bold: false, italic: false, block: block.kind })
    for (const run of block.runs) {
      for (const word of run.text.match(WORDS) ?? []) tokens.push({ text: word, bold: run.bold === true, italic: run.italic === true })
    }
  }
  return tokens
}

/**
 * Rich text before and after as one readable diff, word by word: what both share, what was
 * inserted and what deleted, each run keeping its bold and italic. A word whose format changed
 * shows as deleted in the old format and inserted in the new. Cost: the common beginning and end
 * are skipped in linear time; the rest is a longest-common-subsequence table bounded by
 * MAX_DIFF_CELLS.
 */
export const diffRichText = (before: readonly TextBlock[], after: readonly TextBlock[]): DiffBlock[] => {
  const a = tokensOf(before)
  const b = tokensOf(after)
  let prefix = 0
  while (prefix < a.length && prefix < b.length && sameToken(a[prefix]!, b[prefix]!)) prefix++
  let suffix = 0
  while (suffix < a.length - prefix && suffix < b.length - prefix && sameToken(a[a.length - 1 - suffix]!, b[b.length - 1 - suffix]!)) suffix++
  const middle = middleDiff(a.slice(prefix, a.length - suffix), b.slice(prefix, b.length - suffix))
  const ops: Array<{ token: Token; change: DiffRun['change'] }> = [
    ...a.slice(0, prefix).map((token) => ({ token, change: 'same' as const })),
    ...middle,
    ...a.slice(a.length - suffix).map((token) => ({ token, change: 'same' as const })),
  ]
  return toBlocks(ops)
}

const middleDiff = (a: readonly Token[], b: readonly Token[]): Array<{ token: Token; change: DiffRun['change'] }> => {
  if (a.length === 0 || b.length === 0 || (a.length + 1) * (b.length + 1) > MAX_DIFF_CELLS) {
    return [...a.map((token) => ({ token, change: 'deleted' as const })), ...b.map((token) => ({ token, change: 'inserted' as const }))]
  }
  // lengths[i][j]: the longest common subsequence of a[i..] and b[j..].
  const width = b.length + 1
  const lengths = new Uint32Array((a.length + 1) * width)
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lengths[i * width + j] = sameToken(a[i]!, b[j]!) ? lengths[(i + 1) * width + j + 1]! + 1 : Math.max(lengths[(i + 1) * width + j]!, lengths[i * width + j + 1]!)
    }
  }
  const ops: Array<{ token: Token; change: DiffRun['change'] }> = []
  let i = 0
  let j = 0
  while (i < a.length && j < b.length) {
    if (sameToken(a[i]!, b[j]!)) {
      ops.push({ token: a[i]!, change: 'same' })
      i++
      j++
    } else if (lengths[(i + 1) * width + j]! >= lengths[i * width + j + 1]!) {
      ops.push({ token: a[i++]!, change: 'deleted' })
    } else {
      ops.push({ token: b[j++]!, change: 'inserted' })
    }
  }
  while (i < a.length) ops.push({ token: a[i++]!, change: 'deleted' })
  while (j < b.length) ops.push({ token: b[j++]!, change: 'inserted' })
  return ops
}

/** Tokens back into blocks of runs; neighbouring tokens with the same formats and change join. */
const toBlocks = (ops: ReadonlyArray<{ token: Token; change: DiffRun['change'] }>): DiffBlock[] => {
  const blocks: Array<{ kind: string; runs: DiffRun[] }> = []
  for (const { token, change } of ops) {
    if (token.block !== undefined) {
      // A block start that only one side has: its text joins the previous block on that side.
      if (change === 'same' || blocks.length === 0) blocks.push({ kind: token.block, runs: [] })
      else blocks.at(-1)!.runs.push({ text: ' ¶ ', change })
      continue
    }
    const runs = blocks.at(-1)!.runs
    const last = runs.at(-1)
    if (last && last.change === change && (last.bold === true) === token.bold && (last.italic === true) === token.italic) {
      runs[runs.length - 1] = { ...last, text: last.text + token.text }
    } else {
      runs.push({ text: token.text, change, ...(token.bold ? { bold: true } : {}), ...(token.italic ? { italic: true } : {}) })
    }
  }
  return blocks
}
