import type { ConflictRecord } from '../../shared/conflictRecord.ts'
import type { DocumentType } from '../../shared/documentName.ts'
import { writeField } from '../../shared/editTimes.ts'
import type { DocumentHandle } from '../browser.ts'
import { Disposables, h } from './dom.ts'
import { fieldLabel } from './fieldLabels.ts'
import { dismissConflict } from './serverApi.ts'

/**
 * Concurrent overwrites of this user's values, shown on the field they happened to, until the user
 * dismisses them: "Alice set this to 12 Dec at the same time; your value 10 Dec was replaced",
 * with *Keep theirs* (dismiss) and *Use mine* (the user's value written again as a new edit, with
 * a new time, through the gate like any edit — then dismissed). The server sends the whole list on
 * connect and whenever it changes, so it survives reloads and shows on every device of the user.
 */
export const fieldConflicts = (
  handle: DocumentHandle,
  type: DocumentType,
  formSlot: HTMLElement,
  { getToken, onError, disposables }: { getToken: () => Promise<string>; onError: (message: string) => void; disposables: Disposables },
): { refresh: () => void } => {
  let conflicts: readonly ConflictRecord[] = []
  /** Dismissed here, not yet confirmed by a new list from the server. */
  const dismissing = new Set<string>()
  const dismiss = async (conflict: ConflictRecord) => {
    dismissing.add(conflict.id)
    render()
    try {
      await dismissConflict(await getToken(), handle.name, conflict.id)
    } catch (error) {
      dismissing.delete(conflict.id)
      render()
      onError(`The conflict on ${fieldLabel(type, conflict.path) ?? 'a field'} could not be dismissed: ${(error as Error).message}`)
    }
  }
  const useMine = (conflict: ConflictRecord) => {
    const dot = conflict.path.indexOf('.')
    writeField(handle.doc.getMap(conflict.path.slice(0, dot)), conflict.path.slice(dot + 1), conflict.loser.value)
    void dismiss(conflict)
  }
  const panelFor = (conflict: ConflictRecord): HTMLElement => {
    const who = conflict.winner.name ?? conflict.winner.userId
    const label = fieldLabel(type, conflict.path) ?? 'this field'
    const keepTheirs = h('button', { type: 'button', class: 'secondary' }, 'Keep theirs')
    const mine = h('button', { type: 'button' }, 'Use mine')
    keepTheirs.addEventListener('click', () => void dismiss(conflict))
    mine.addEventListener('click', () => useMine(conflict))
    return h(
      'div',
      { class: 'field-conflict', role: 'group', 'aria-label': `Conflict on ${label}`, 'data-conflict': conflict.id, 'data-path': conflict.path },
      h('p', {}, `${who} set this to ${shown(conflict.path, conflict.winner.value)} at the same time; your value ${shown(conflict.path, conflict.loser.value)} was replaced`),
      h('div', { class: 'field-conflict-actions' }, keepTheirs, mine),
    )
  }
  const render = () => {
    for (const panel of formSlot.querySelectorAll('.field-conflict')) panel.remove()
    for (const conflict of conflicts) {
      if (dismissing.has(conflict.id)) continue
      const key = conflict.path.slice(conflict.path.indexOf('.') + 1)
      // Under the field's control; a field the form shows otherwise (status buttons) at the top.
      const field = formSlot.querySelector(`[data-field="${CSS.escape(key)}"]`)?.closest('.field, fieldset')
      const form = formSlot.querySelector('.document-form')
      if (field) field.append(panelFor(conflict))
      else if (form) form.prepend(panelFor(conflict))
    }
  }
  const onConflicts = (list: readonly ConflictRecord[]) => {
    conflicts = list
    for (const id of dismissing) if (!list.some((conflict) => conflict.id === id)) dismissing.delete(id)
    render()
  }
  handle.on('conflicts', onConflicts)
  disposables.add(() => handle.off('conflicts', onConflicts))
  return { refresh: render }
}

/** A value as the form shows it: a date as "12 Dec" (with the year when it is not this one). */
const shown = (path: string, value: unknown): string => {
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value) && path.endsWith('Date')) {
    const date = new Date(`${value.slice(0, 10)}T00:00:00Z`)
    if (!Number.isNaN(date.getTime())) {
      const sameYear = date.getUTCFullYear() === new Date().getUTCFullYear()
      return date.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC', ...(sameYear ? {} : { year: 'numeric' }) })
    }
  }
  if (value === undefined || value === null || value === '') return '(empty)'
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value)
}
