import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as Y from 'yjs'
import { blocksText, richTextBlocks, type TextBlock } from './richTextBlocks.ts'
import { diffRichText, MAX_DIFF_CELLS } from './richTextDiff.ts'

const paragraph = (...runs: TextBlock['runs']): TextBlock => ({ kind: 'paragraph', runs })

test('a word diff keeps formats: replaced words are deleted then inserted, a new paragraph is marked, the rest is the same', () => {
  const before = [paragraph({ text: 'Payment within ' }, { text: '30', bold: true }, { text: ' days.' })]
  const after = [paragraph({ text: 'Payment within ' }, { text: '45', bold: true }, { text: ' days.' }), paragraph({ text: 'Late fees apply.', italic: true })]
  assert.deepEqual(diffRichText(before, after), [
    {
      kind: 'paragraph',
      runs: [
        { text: 'Payment within ', change: 'same' },
        { text: '30', change: 'deleted', bold: true },
        { text: '45', change: 'inserted', bold: true },
        { text: ' days.', change: 'same' },
        { text: ' ¶ ', change: 'inserted' },
        { text: 'Late fees apply.', change: 'inserted', italic: true },
      ],
    },
  ])
  assert.deepEqual(diffRichText(before, before), [{ kind: 'paragraph', runs: [{ text: 'Payment within ', change: 'same' }, { text: '30', change: 'same', bold: true }, { text: ' days.', change: 'same' }] }])
})

test('a change too large for the bounded table shows its middle deleted then inserted whole, and stays correct', () => {
  const words = (prefix: string, count: number) => Array.from({ length: count }, (_, index) => `${prefix}${index}`).join(' ')
  // Each side ~2 × 3,000 tokens: well over MAX_DIFF_CELLS pairs.
  const before = [paragraph({ text: `Start ${words('a', 3_000)} end.` })]
  const after = [paragraph({ text: `Start ${words('b', 3_000)} end.` })]
  assert.ok(6_000 * 6_000 > MAX_DIFF_CELLS, 'the case is above the bound')
  const [block] = diffRichText(before, after)
  const text = (change: string) => block!.runs.filter((run) => run.change === change || run.change === 'same').map((run) => run.text).join('')
  assert.equal(text('deleted'), before[0]!.runs[0]!.text)
  assert.equal(text('inserted'), after[0]!.runs[0]!.text)
  assert.deepEqual(block!.runs.map((run) => run.change), ['same', 'deleted', 'inserted', 'same'])
})

test('blocks are read from a rich-text root with formats, also one nested thousands deep (no recursion)', () => {
  const doc = new Y.Doc()
  const body = doc.getXmlFragment('body')
  const first = new Y.XmlElement('paragraph')
  const text = new Y.XmlText()
  first.insert(0, [text])
  body.insert(0, [first])
  text.applyDelta([{ insert: 'Bold', attributes: { strong: {} } }, { insert: ' and ' }, { insert: 'italic', attributes: { em: {} } }])
  // A chain 5,000 elements deep, as a store from before the nesting limit may hold.
  let parent: Y.XmlElement = new Y.XmlElement('blockquote')
  body.insert(1, [parent])
  for (let depth = 0; depth < 5_000; depth++) {
    const child = new Y.XmlElement('blockquote')
    parent.insert(0, [child])
    parent = child
  }
  parent.insert(0, [new Y.XmlText('deep')])
  const blocks = richTextBlocks(body)
  assert.deepEqual(blocks[0], paragraph({ text: 'Bold', bold: true }, { text: ' and ' }, { text: 'italic', italic: true }))
  assert.deepEqual(blocks[1], { kind: 'blockquote', runs: [{ text: 'deep' }] })
  assert.equal(blocksText(blocks), 'Bold and italic\ndeep')
})
