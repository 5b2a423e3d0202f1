import type { DocumentHandle } from '../documentHandle.ts'
import { Disposables, h } from './dom.ts'

/**
 * The connection and save state in words: "Saved", "Saving…", "Connecting…",
 * "Offline — N changes kept on this device". `data-state` carries the same for styles and tests.
 */
export const saveIndicator = (handle: DocumentHandle, disposables: Disposables): HTMLElement => {
  const element = h('p', { class: 'save-indicator', role: 'status', 'aria-live': 'polite' })
  const render = () => {
    const { state, text } = describe(handle)
    element.dataset.state = state
    element.textContent = text
  }
  handle.on('status', render)
  handle.on('saved', render)
  // The unsaved count changes with every edit, not only when `saved` flips.
  handle.doc.on('update', render)
  disposables.add(() => {
    handle.off('status', render)
    handle.off('saved', render)
    handle.doc.off('update', render)
  })
  render()
  return element
}

const describe = (handle: DocumentHandle): { state: string; text: string } => {
  if (handle.status === 'offline') {
    const count = handle.unsavedChanges
    if (count === 0) return { state: 'offline', text: 'Offline — everything is saved' }
    return { state: 'offline', text: `Offline — ${count} ${count === 1 ? 'change' : 'changes'} kept on this device` }
  }
  if (handle.status !== 'synced') return { state: 'connecting', text: 'Connecting…' }
  return handle.saved ? { state: 'saved', text: 'Saved' } : { state: 'saving', text: 'Saving…' }
}
