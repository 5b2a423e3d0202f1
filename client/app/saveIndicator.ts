import type { DocumentHandle } from '../documentHandle.ts'
import { Disposables, h } from './dom.ts'

export interface SaveIndicatorOptions {
  /** The server refused this device's changes to the document before (read-only access): known at once after a reload. */
  readonly refused?: boolean
  /** True while the document cannot be shown (offline, never downloaded); re-read on `posalpro:refresh`. */
  readonly unavailable?: () => boolean
  /**
   * How many changes wait to upload, when known better than the handle's count (which counts a
   * reloaded copy as one change): the ledger's, so the header and the indicator agree.
   */
  readonly unsavedChanges?: () => number
}

/**
 * The connection and save state in words: "Saved", "Saving…", "Connecting…",
 * "Offline — N changes kept on this device" (only once they are in the local store: until then
 * "Offline — storing N changes on this device…"), "Not saved — you have read-only access" (the server
 * refuses every change, so "Saving…" would never end), "Not available offline".
 * `data-state` carries the same for styles and tests.
 */
export const saveIndicator = (handle: DocumentHandle, disposables: Disposables, options: SaveIndicatorOptions = {}): HTMLElement => {
  const element = h('p', { class: 'save-indicator', role: 'status', 'aria-live': 'polite' })
  // Refused until everything is saved after all (the role changed): the server tells a read-only
  // connection once, so the refusal is remembered here, not re-derived from each event.
  let refused = options.refused === true
  const render = () => {
    const { state, text } = options.unavailable?.()
      ? { state: 'unavailable', text: 'Not available offline' }
      : refused
        ? { state: 'refused', text: 'Not saved — you have read-only access' }
        : describe(handle, options.unsavedChanges?.() ?? handle.unsavedChanges)
    element.dataset.state = state
    element.textContent = text
  }
  const onNotice = (notice: { ruleId: string }) => {
    if (notice.ruleId !== 'read-only') return
    refused = true
    render()
  }
  // Only a flip to saved clears it: a handle reads as saved before its local copy is loaded.
  const onSaved = (saved: boolean) => {
    if (saved) refused = false
    render()
  }
  handle.on('notice', onNotice)
  disposables.listen(element, 'posalpro:refresh', render)
  disposables.add(() => handle.off('notice', onNotice))
  handle.on('status', render)
  handle.on('saved', onSaved)
  handle.on('storedLocally', render)
  // The unsaved count changes with every edit, not only when `saved` flips.
  handle.doc.on('update', render)
  disposables.add(() => {
    handle.off('status', render)
    handle.off('saved', onSaved)
    handle.off('storedLocally', render)
    handle.doc.off('update', render)
  })
  render()
  return element
}

const describe = (handle: DocumentHandle, count: number): { state: string; text: string } => {
  if (handle.status === 'offline') {
    if (count === 0) return { state: 'offline', text: 'Offline — everything is saved' }
    const changes = `${count} ${count === 1 ? 'change' : 'changes'}`
    if (!handle.storedLocally) return { state: 'storing', text: `Offline — storing ${changes} on this device…` }
    return { state: 'offline', text: `Offline — ${changes} kept on this device` }
  }
  if (handle.status !== 'synced') return { state: 'connecting', text: 'Connecting…' }
  return handle.saved ? { state: 'saved', text: 'Saved' } : { state: 'saving', text: 'Saving…' }
}
