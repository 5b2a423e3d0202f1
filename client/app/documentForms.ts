import type { Awareness } from 'y-protocols/awareness'
import type { ContentModel, CustomerModel, ProposalModel } from '../../shared/documentModel.ts'
import type { Actor } from '../../shared/rules/ruleTypes.ts'
import { choiceCodec, numberCodec, textCodec } from './fieldBinding.ts'
import { checkboxField, fieldset, inputField, selectField, type FormContext } from './formControls.ts'
import { h } from './dom.ts'
import { richTextEditor } from './richTextEditor.ts'
import { statusControl } from './statusControl.ts'
import { lockReasons } from './fieldLocks.ts'
import { lockedNote } from './lockedNote.ts'

export interface EditorContext extends FormContext {
  readonly actor: Actor
  readonly awareness: Awareness
  /** Customers of the tenant the picker offers: id and name when known. */
  readonly customers: () => ReadonlyArray<{ id: string; name: string }>
  /** Whether `customer/<id>` exists in the tenant, as far as this client knows (true until it knows). */
  readonly customerExists: (id: string) => boolean
  /** Calls `listener` whenever the customer list changed (the server's list arrived). */
  readonly onCustomersChanged: (listener: () => void) => void
}

export const proposalForm = (model: ProposalModel, editorContext: EditorContext): HTMLElement => {
  const meta = model.meta.ymap
  const financial = model.financial.ymap
  // Fields the rules lock for this user (an approved proposal's customer and figures) show it.
  const context: EditorContext = { ...editorContext, lockOf: lockReasons('proposal', editorContext.actor, meta.doc!) }
  const locked = lockedNote(model, context)
  const status = statusControl(model, context)
  const customer = selectField('Customer', meta, 'customerId', choiceCodec, context, () => {
    const known = context.customers().map(({ id, name }) => ({ value: id, label: name ? `${name} (${id})` : id }))
    const current = model.meta.get('customerId')
    if (current && !known.some((option) => option.value === current)) known.push({ value: current, label: current })
    return known
  })
  return h(
    'div',
    { class: 'document-form' },
    locked,
    fieldset(
      'Proposal',
      inputField('Title', meta, 'title', textCodec, context, { maxlength: 200, required: true }),
      customer.element,
      status,
      inputField('Due date', meta, 'dueDate', choiceCodec, context, { type: 'date' }),
      inputField('Currency', meta, 'currency', { ...textCodec, commitOn: 'change' }, context, { maxlength: 3, pattern: '[A-Z]{3}', placeholder: 'EUR' }),
    ),
    fieldset(
      'Financials',
      inputField('Value', financial, 'value', numberCodec, context, { type: 'number', min: 0, step: 'any' }),
      inputField('Discount %', financial, 'discountPct', numberCodec, context, { type: 'number', min: 0, max: 100, step: 'any' }),
      inputField('Margin %', financial, 'marginPct', numberCodec, context, { type: 'number', min: -100, max: 100, step: 'any' }),
      inputField('Payment terms (days)', financial, 'paymentTermsDays', numberCodec, context, { type: 'number', min: 0, max: 365, step: 1 }),
    ),
    h('section', { class: 'body-section' }, h('h2', {}, 'Proposal text'), richTextEditor(model.body, context.awareness, { label: 'Proposal text', readOnly: context.readOnly }, context.disposables)),
  )
}

export const customerForm = (model: CustomerModel, context: EditorContext): HTMLElement => {
  const fields = model.fields.ymap
  const text = { ...textCodec, commitOn: 'change' as const }
  return h(
    'div',
    { class: 'document-form' },
    fieldset(
      'Customer',
      inputField('Name', fields, 'name', textCodec, context, { maxlength: 200, required: true }),
      inputField('Email', fields, 'email', text, context, { type: 'email', maxlength: 254 }),
      inputField('Phone', fields, 'phone', text, context, { type: 'tel', maxlength: 32 }),
      inputField('Address', fields, 'address', textCodec, context, { maxlength: 500 }),
      inputField('Industry', fields, 'industry', textCodec, context, { maxlength: 100 }),
    ),
    h('section', { class: 'body-section' }, h('h2', {}, 'Notes'), richTextEditor(model.notes, context.awareness, { label: 'Notes', readOnly: context.readOnly }, context.disposables)),
  )
}

export const contentForm = (model: ContentModel, context: EditorContext): HTMLElement => {
  const meta = model.meta.ymap
  // Legal text is edited by legal users only (legal-review): others see it read-only.
  const bodyReadOnly = context.readOnly || (model.meta.get('legal') === true && !context.actor.legal)
  return h(
    'div',
    { class: 'document-form' },
    fieldset(
      'Content',
      inputField('Title', meta, 'title', textCodec, context, { maxlength: 200 }),
      inputField('Category', meta, 'category', textCodec, context, { maxlength: 100 }),
      inputField('Locale', meta, 'locale', { ...textCodec, commitOn: 'change' }, context, { placeholder: 'en-US', maxlength: 5 }),
      checkboxField('Legal text (edited by legal reviewers only)', meta, 'legal', context),
    ),
    h('section', { class: 'body-section' }, h('h2', {}, 'Text'), richTextEditor(model.body, context.awareness, { label: 'Content text', readOnly: bodyReadOnly }, context.disposables)),
  )
}
