import type * as Y from 'yjs'
import { bindCheckbox, bindField, type FieldCodec } from './fieldBinding.ts'
import { Disposables, h } from './dom.ts'

/** What every form needs: where to write, whether it may, and the view's disposables. */
export interface FormContext {
  readonly readOnly: boolean
  readonly disposables: Disposables
  /** Why this user cannot change `map[key]` now (e.g. the proposal is approved), or null. */
  readonly lockOf?: (map: Y.Map<unknown>, key: string) => string | null
}

/**
 * Shows a field the rules lock for this user as locked, with the reason (and opens it again when
 * the document changes so that it is no longer locked): disabled, described by the reason.
 */
const watchLock = (control: HTMLInputElement | HTMLSelectElement, map: Y.Map<unknown>, key: string, context: FormContext): HTMLElement | null => {
  const lockOf = context.lockOf
  const doc = map.doc
  if (!lockOf || !doc || context.readOnly) return null
  const reason = h('p', { class: 'lock-reason', id: `${control.id}-lock` })
  const update = () => {
    const locked = lockOf(map, key)
    // Only what the lock disabled is enabled again (other code may disable the control too).
    if (locked !== null) {
      control.disabled = true
      control.dataset.locked = ''
    } else if (control.dataset.locked !== undefined) {
      control.disabled = false
      delete control.dataset.locked
    }
    reason.hidden = locked === null
    reason.textContent = locked === null ? '' : `Locked: ${locked}`
    if (locked === null) control.removeAttribute('aria-describedby')
    else control.setAttribute('aria-describedby', reason.id)
  }
  doc.on('update', update)
  context.disposables.add(() => doc.off('update', update))
  update()
  return reason
}

let nextId = 0
const controlId = (key: string) => `field-${key}-${++nextId}`

/** A labelled input bound to `map[key]`. */
export const inputField = (
  label: string,
  map: Y.Map<unknown>,
  key: string,
  codec: FieldCodec,
  context: FormContext,
  attributes: Record<string, string | number | boolean | undefined> = {},
): HTMLElement => {
  const id = controlId(key)
  const input = h('input', { id, name: key, disabled: context.readOnly, 'data-field': `${key}`, ...attributes })
  const field = h('div', { class: 'field' }, h('label', { for: id }, label), input)
  const showError = (message: string | null) => {
    field.querySelector('.field-error')?.remove()
    input.removeAttribute('aria-describedby')
    if (message === null) return
    field.append(h('p', { class: 'field-error', id: `${id}-error` }, message))
    input.setAttribute('aria-describedby', `${id}-error`)
  }
  bindField(input, map, key, codec, context.disposables, showError)
  const lock = watchLock(input, map, key, context)
  if (lock) field.append(lock)
  return field
}

export const checkboxField = (label: string, map: Y.Map<unknown>, key: string, context: FormContext): HTMLElement => {
  const id = controlId(key)
  const input = h('input', { id, type: 'checkbox', name: key, disabled: context.readOnly, 'data-field': key })
  bindCheckbox(input, map, key, context.disposables)
  return h('div', { class: 'field field-checkbox' }, input, h('label', { for: id }, label))
}

/** A labelled select whose options may change (`refresh`), bound to `map[key]`. */
export const selectField = (
  label: string,
  map: Y.Map<unknown>,
  key: string,
  codec: FieldCodec,
  context: FormContext,
  options: () => ReadonlyArray<{ value: string; label: string; disabled?: boolean }>,
): { element: HTMLElement; refresh: () => void } => {
  const id = controlId(key)
  const select = h('select', { id, name: key, disabled: context.readOnly, 'data-field': key })
  const refresh = () => {
    const current = codec.format(map.get(key))
    select.replaceChildren(
      h('option', { value: '', disabled: true }, '—'),
      ...options().map((option) => h('option', { value: option.value, disabled: option.disabled }, option.label)),
    )
    select.value = current
  }
  refresh()
  // Options that depend on something outside the map (the customer list) refresh on this event.
  context.disposables.listen(select, 'posalpro:refresh', refresh)
  bindField(select, map, key, codec, context.disposables)
  // A remote change of the key changes which options are allowed.
  const observer = (event: Y.YMapEvent<unknown>) => {
    if (event.keysChanged.has(key)) refresh()
  }
  map.observe(observer)
  context.disposables.add(() => map.unobserve(observer))
  return { element: h('div', { class: 'field' }, h('label', { for: id }, label), select, watchLock(select, map, key, context)), refresh }
}

export const fieldset = (legend: string, ...children: HTMLElement[]): HTMLElement =>
  h('fieldset', {}, h('legend', {}, legend), ...children)
