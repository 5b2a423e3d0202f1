import type * as Y from 'yjs'
import { textField as textFieldSpec } from '../../shared/documentModel.ts'
import type { DocumentType } from '../../shared/documentName.ts'
import { h } from './dom.ts'
import { bindTextField } from './fieldBinding.ts'
import type { FormContext } from './formControls.ts'

let nextId = 0

/**
 * A labelled input bound to a plain-text field (a Y.Text root: `title`, `name`, …), merged
 * character by character with whoever else types in it. Its maximum length is the schema's.
 */
export const textRootField = (
  label: string,
  doc: Y.Doc,
  type: DocumentType,
  name: string,
  context: FormContext,
  attributes: Record<string, string | number | boolean | undefined> = {},
): HTMLElement => {
  const spec = textFieldSpec(type, name)
  if (spec === undefined) throw new Error(`a ${type} has no text field ${name}`)
  const id = `field-${name}-text-${++nextId}`
  const input = h('input', { id, name, disabled: context.readOnly, 'data-field': name, maxlength: spec.max, ...attributes })
  bindTextField(input, doc.getText(name), doc.getMap(spec.legacy), name, context.disposables)
  return h('div', { class: 'field' }, h('label', { for: id }, label), input)
}
