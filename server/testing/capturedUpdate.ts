import type * as Y from 'yjs'

/** The update one change to `doc` makes (as a peer would send it), captured from the doc's `update` event. */
export const capturedUpdate = (doc: Y.Doc, change: () => void): Uint8Array => {
  let captured: Uint8Array | null = null
  const capture = (update: Uint8Array) => (captured = update)
  doc.on('update', capture)
  doc.transact(change)
  doc.off('update', capture)
  if (captured === null) throw new Error('the change made no update')
  return captured
}
