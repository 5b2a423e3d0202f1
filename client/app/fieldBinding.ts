import type * as Y from 'yjs'
import { applyTextSplice } from '../../shared/textDiff.ts'
import { writeField } from '../../shared/editTimes.ts'
import { Disposables } from './dom.ts'

/**
 * Two-way binding of a form control to one key of a Y.Map. Local input writes the key (the server
 * validates it); remote changes — other users, and the server reverting a rejected change — are
 * shown at once. Text is written as you type, numbers and selects when committed (change); each
 * write carries its time, so of two concurrent writes to a field the later one is kept.
 */
export interface FieldCodec {
  /** The control's text → the stored value; undefined deletes the key. Throwing keeps the old value. */
  readonly parse: (text: string) => unknown
  readonly format: (value: unknown) => string
  /** `input` for free text, `change` for numbers, dates and selects. */
  readonly commitOn: 'input' | 'change'
}

export const textCodec: FieldCodec = {
  parse: (text) => (text === '' ? undefined : text),
  format: (value) => (typeof value === 'string' ? value : ''),
  commitOn: 'input',
}

export const numberCodec: FieldCodec = {
  parse: (text) => (text.trim() === '' ? undefined : Number(text)),
  format: (value) => (typeof value === 'number' ? String(value) : ''),
  commitOn: 'change',
}

export const choiceCodec: FieldCodec = { ...textCodec, commitOn: 'change' }

/** What a codec throws for text that is not a valid value: the message is shown beside the field. */
export class InvalidFieldText extends Error {}

/**
 * `codec` that only lets through values `isValid` accepts (the server's own schema): anything else
 * is never written — the server would refuse it and revert the field, erasing what was typed.
 */
export const validatedCodec = (codec: FieldCodec, isValid: (value: unknown) => boolean, message: string): FieldCodec => ({
  ...codec,
  parse: (text) => {
    const value = codec.parse(text)
    if (value !== undefined && !isValid(value)) throw new InvalidFieldText(message)
    return value
  },
})

export const bindField = (
  control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
  map: Y.Map<unknown>,
  key: string,
  codec: FieldCodec,
  disposables: Disposables,
  /** Shows (a message) or clears (null) the field's error; text the codec refuses stays in the control. */
  showError: (message: string | null) => void = () => {},
): void => {
  /** The control holds text the codec refused: kept as typed until the user changes it. */
  let invalid = false
  const show = () => {
    if (invalid) return
    const text = codec.format(map.get(key))
    if (control.value === text) return
    // Keep the caret where it was when a remote change lands while typing.
    const caret = control instanceof HTMLInputElement && control === document.activeElement ? control.selectionStart : null
    control.value = text
    if (caret !== null && control instanceof HTMLInputElement) {
      try {
        control.setSelectionRange(caret, caret)
      } catch {
        // number and date inputs have no selection
      }
    }
  }
  const observer = (event: Y.YMapEvent<unknown>) => {
    if (event.keysChanged.has(key)) show()
  }
  map.observe(observer)
  disposables.add(() => map.unobserve(observer))
  disposables.listen(control, codec.commitOn, () => {
    let value: unknown
    try {
      value = codec.parse(control.value)
    } catch (error) {
      if (!(error instanceof InvalidFieldText)) throw error
      invalid = true
      control.setAttribute('aria-invalid', 'true')
      showError(error.message)
      return
    }
    if (invalid) {
      invalid = false
      control.removeAttribute('aria-invalid')
      showError(null)
    }
    if (typeof value === 'number' && !Number.isFinite(value)) return
    if (value === map.get(key)) return
    // With its time: of two concurrent writes the later one is kept (shared/editTimes.ts).
    writeField(map, key, value)
  })
  show()
}

/** A checkbox bound to a boolean key (unchecked writes false: the schema wants a boolean, not absence). */
export const bindCheckbox = (control: HTMLInputElement, map: Y.Map<unknown>, key: string, disposables: Disposables): void => {
  const show = () => {
    control.checked = map.get(key) === true
  }
  const observer = (event: Y.YMapEvent<unknown>) => {
    if (event.keysChanged.has(key)) show()
  }
  map.observe(observer)
  disposables.add(() => map.unobserve(observer))
  disposables.listen(control, 'change', () => writeField(map, key, control.checked))
  show()
}

/**
 * Two-way binding of a text control to a plain-text field (a Y.Text root: `title`, `name`, …), so
 * two people typing in it at once merge character by character, as in the body.
 *
 * - Local input: one minimal splice per `input` event (common prefix and suffix kept: one delete and
 *   one insert, in one transaction), so only what was typed or deleted is sent, and a concurrent
 *   edit elsewhere in the field survives.
 * - Remote changes (other users, the server restoring a refused edit) are shown at once; the caret
 *   and selection move with the text around them. A remote insert right at the caret stays after
 *   it, so one's own typing stays one run, whatever the other person types at the same place.
 * - A document still in the legacy form (the value in a map key, before the server moved it; seen
 *   offline on a copy never synced since) is shown from that key and written there, as before:
 *   only the server moves values over, two clients moving one would write the text twice.
 */
export const bindTextField = (
  control: HTMLInputElement | HTMLTextAreaElement,
  text: Y.Text,
  legacy: Y.Map<unknown>,
  key: string,
  disposables: Disposables,
): void => {
  /** In the legacy form: the text root is empty and the map key holds a string. */
  const legacyValue = (): string | null => {
    const value = legacy.get(key)
    return text.length === 0 && typeof value === 'string' ? value : null
  }
  const current = (): string => legacyValue() ?? text.toString()
  const show = (delta: ReadonlyArray<{ insert?: unknown; delete?: number; retain?: number }> | null) => {
    const value = current()
    if (control.value === value) return
    const focused = control === document.activeElement
    const start = control.selectionStart
    const end = control.selectionEnd
    control.value = value
    if (!focused || start === null || end === null) return
    const moved = delta ? [moveThrough(delta, start), moveThrough(delta, end)] : [Math.min(start, value.length), Math.min(end, value.length)]
    control.setSelectionRange(moved[0]!, moved[1]!)
  }
  const onText = (event: Y.YTextEvent, transaction: Y.Transaction) => {
    if (transaction.local && transaction.origin === LOCAL_INPUT) return
    show(event.delta as Array<{ insert?: unknown; delete?: number; retain?: number }>)
  }
  const onLegacy = (event: Y.YMapEvent<unknown>) => {
    if (event.keysChanged.has(key)) show(null)
  }
  text.observe(onText)
  legacy.observe(onLegacy)
  disposables.add(() => text.unobserve(onText))
  disposables.add(() => legacy.unobserve(onLegacy))
  disposables.listen(control, 'input', () => {
    const typed = control.value
    const doc = text.doc!
    if (legacyValue() !== null) {
      if (typed === '') legacy.delete(key)
      else legacy.set(key, typed)
      return
    }
    // The caret says where the edit ended, which settles a splice a repeated character makes ambiguous.
    doc.transact(() => applyTextSplice(text, text.toString(), typed, control.selectionEnd ?? undefined), LOCAL_INPUT)
  })
  show(null)
}

/** The origin of this binding's own writes: its control already shows them. */
const LOCAL_INPUT = Object.freeze({ name: 'posalpro-text-input' })

/**
 * Where a position in the text before a change is after it. The delta walks the old text: `retain`
 * and `delete` consume it, `insert` adds at the current place. An insert right at the position
 * leaves it before the inserted text.
 */
const moveThrough = (delta: ReadonlyArray<{ insert?: unknown; delete?: number; retain?: number }>, position: number): number => {
  let old = 0
  let shift = 0
  for (const op of delta) {
    if (old > position) break
    if (op.retain !== undefined) old += op.retain
    else if (op.delete !== undefined) {
      if (position > old) shift -= Math.min(op.delete, position - old)
      old += op.delete
    } else if (typeof op.insert === 'string' && old < position) shift += op.insert.length
  }
  return position + shift
}
