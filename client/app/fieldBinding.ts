import type * as Y from 'yjs'
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
