import type { ProposalModel } from '../../shared/documentModel.ts'
import { h } from './dom.ts'
import { FIELD_LABELS } from './fieldLabels.ts'
import type { FormContext } from './formControls.ts'

/**
 * One line above the form that says which fields are locked for this user and why, so an
 * approved proposal does not look fully editable at a glance; hidden while nothing is locked.
 */
export const lockedNote = (model: ProposalModel, context: FormContext): HTMLElement => {
  const note = h('p', { class: 'locked-note', role: 'note', hidden: true })
  const lockOf = context.lockOf
  if (!lockOf || context.readOnly) return note
  const fields = [
    [model.meta.ymap, 'customerId', FIELD_LABELS.proposal['meta.customerId']],
    ...(['value', 'discountPct', 'marginPct', 'paymentTermsDays'] as const).map((key) => [model.financial.ymap, key, FIELD_LABELS.proposal[`financial.${key}`]] as const),
  ] as const
  const doc = model.meta.ymap.doc!
  const update = () => {
    const locked = fields.filter(([map, key]) => lockOf(map, key) !== null).map(([, , label]) => label)
    note.hidden = locked.length === 0
    const status = model.meta.get('status')
    const state = typeof status === 'string' ? status.replace('_', ' ') : 'in this state'
    note.textContent = locked.length === 0 ? '' : `Locked for you while the proposal is ${state}: ${locked.join(', ')} (each field says why).`
  }
  doc.on('update', update)
  context.disposables.add(() => doc.off('update', update))
  update()
  return note
}
