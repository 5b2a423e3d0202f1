import type { Awareness } from 'y-protocols/awareness'
import type * as Y from 'yjs'
import type { ContentModel, CustomerModel, ProposalModel } from '../../shared/documentModel.ts'
import { customerFieldsSchema } from '../../shared/schemas.ts'
import type { Actor } from '../../shared/rules/ruleTypes.ts'
import { choiceCodec, numberCodec, textCodec, validatedCodec } from './fieldBinding.ts'
import { checkboxField, fieldset, inputField, selectField, type FormContext } from './formControls.ts'
import { h } from './dom.ts'
import { richTextEditor } from './richTextEditor.ts'
import { statusControl } from './statusControl.ts'
import { lockReasons } from './fieldLocks.ts'
import { lockedNote } from './lockedNote.ts'
import { textRootField } from './textField.ts'

export interface EditorContext extends FormContext {
  readonly actor: Actor
  readonly awareness: Awareness
  /** Customers of the tenant the picker offers: id and name when known. */
  readonly customers: () => ReadonlyArray<{ id: string; name: string }>
  /**
   * Whether the document's values can be trusted to decide what is editable: synced with the
   * server once, or offline (then this device's copy is all there is). `subscribe` calls back
   * when that may have changed.
   */
  readonly serverState: { readonly known: () => boolean; readonly subscribe: (listener: () => void) => () => void }
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
      textRootField('Title', meta.doc!, 'proposal', 'title', context, { required: true }),
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
  // Checked against the server's own schema before writing: a refused value would be reverted,
  // erasing what was typed; kept in the field with the error beside it instead.
  const email = validatedCodec(text, (value) => customerFieldsSchema.shape.email.safeParse(value).success, 'Enter an e-mail address like name@example.com.')
  const phone = validatedCodec(text, (value) => customerFieldsSchema.shape.phone.safeParse(value).success, 'Enter a phone number: digits, spaces, + ( ) -, 3 to 32 characters.')
  return h(
    'div',
    { class: 'document-form' },
    fieldset(
      'Customer',
      textRootField('Name', fields.doc!, 'customer', 'name', context, { required: true }),
      inputField('Email', fields, 'email', email, context, { type: 'email', maxlength: 254 }),
      inputField('Phone', fields, 'phone', phone, context, { type: 'tel', maxlength: 32 }),
      textRootField('Address', fields.doc!, 'customer', 'address', context),
      textRootField('Industry', fields.doc!, 'customer', 'industry', context),
    ),
    h('section', { class: 'body-section' }, h('h2', {}, 'Notes'), richTextEditor(model.notes, context.awareness, { label: 'Notes', readOnly: context.readOnly }, context.disposables)),
  )
}

export const contentForm = (model: ContentModel, context: EditorContext): HTMLElement => {
  const meta = model.meta.ymap
  // Legal text is edited by legal users only (legal-review): others see it read-only — decided
  // before the editor takes a keystroke, so a copy that may be stale (not yet synced) counts as
  // legal, and again whenever the flag changes.
  const bodyReadOnly = () =>
    context.readOnly || (!context.actor.legal && (model.meta.get('legal') === true || !context.serverState.known()))
  const body = richTextEditor(model.body, context.awareness, { label: 'Content text', readOnly: bodyReadOnly }, context.disposables)
  const refreshBody = () => body.dispatchEvent(new Event('posalpro:refresh'))
  const onMeta = (event: Y.YMapEvent<unknown>) => {
    if (event.keysChanged.has('legal')) refreshBody()
  }
  meta.observe(onMeta)
  context.disposables.add(() => meta.unobserve(onMeta))
  context.disposables.add(context.serverState.subscribe(refreshBody))
  return h(
    'div',
    { class: 'document-form' },
    fieldset(
      'Content',
      textRootField('Title', meta.doc!, 'content', 'title', context),
      textRootField('Category', meta.doc!, 'content', 'category', context),
      inputField('Locale', meta, 'locale', { ...textCodec, commitOn: 'change' }, context, { placeholder: 'en-US', maxlength: 5 }),
      checkboxField('Legal text (edited by legal reviewers only)', meta, 'legal', context),
    ),
    h('section', { class: 'body-section' }, h('h2', {}, 'Text'), body),
  )
}
