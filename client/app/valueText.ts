import type { TextBlock } from '../../shared/richTextBlocks.ts'
import type { DiffBlock } from '../../shared/richTextDiff.ts'
import { h } from './dom.ts'

const NUMBER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 6 })

/** A field's value as the form would show it: numbers grouped (12,000), nothing as "(empty)", never JSON for text. */
export const valueText = (value: unknown): string => {
  if (value === undefined || value === null || value === '') return '(empty)'
  if (typeof value === 'number') return NUMBER.format(value)
  if (typeof value === 'string') return value
  if (typeof value === 'boolean') return value ? 'yes' : 'no'
  return JSON.stringify(value)
}

const BLOCK_TAGS: Record<string, 'p' | 'h3'> = { heading: 'h3' }

/** A run's text in its formats (bold and italic kept as <strong> and <em>). */
const formatted = (run: { text: string; bold?: true; italic?: true }): Node => {
  let node: Node = document.createTextNode(run.text)
  if (run.italic) node = h('em', {}, node)
  if (run.bold) node = h('strong', {}, node)
  return node
}

/** Rich text as a reader sees it: blocks of formatted runs. */
export const richTextView = (blocks: readonly TextBlock[]): HTMLElement =>
  h('div', { class: 'rich-text-view' }, ...(blocks.length === 0 ? [h('p', { class: 'empty' }, '(empty)')] : blocks.map((block) => h(BLOCK_TAGS[block.kind] ?? 'p', {}, ...block.runs.map(formatted)))))

/**
 * A rich-text diff: deletions struck through in <del>, insertions underlined in <ins>, formats
 * kept. The marks are also named in words for screen readers, which do not announce <ins>/<del>.
 */
export const richTextDiffView = (blocks: readonly DiffBlock[]): HTMLElement =>
  h(
    'div',
    { class: 'rich-text-diff' },
    ...blocks.map((block) =>
      h(
        BLOCK_TAGS[block.kind] ?? 'p',
        {},
        ...block.runs.map((run) => {
          if (run.change === 'same') return formatted(run)
          const label = run.change === 'inserted' ? 'inserted: ' : 'deleted: '
          return h(run.change === 'inserted' ? 'ins' : 'del', {}, h('span', { class: 'visually-hidden' }, `[${label}`), formatted(run), h('span', { class: 'visually-hidden' }, ']'))
        }),
      ),
    ),
  )

/** When something happened, as people read it (and as a machine-readable datetime). */
export const timeView = (at: number): HTMLElement => h('time', { datetime: new Date(at).toISOString() }, new Date(at).toLocaleString())
