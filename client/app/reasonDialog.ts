import { h } from './dom.ts'

let nextId = 0

/** Rejections carry a reason (the server keeps up to 500 characters): the proposer reads it. */
const MAX_REASON_LENGTH = 500

/**
 * Asks for a reason (rejecting a held change): a modal `<dialog>` with a text area, Escape or
 * Cancel cancels. Resolves to the reason, or null when cancelled; focus returns where it was.
 */
export const reasonDialog = ({ title, confirm }: { title: string; confirm: string }): Promise<string | null> =>
  new Promise((resolve) => {
    const returnTo = document.activeElement instanceof HTMLElement ? document.activeElement : null
    const id = ++nextId
    const reason = h('textarea', { id: `reason-${id}`, maxlength: MAX_REASON_LENGTH, rows: 3, required: true })
    const ok = h('button', { type: 'button' }, confirm)
    const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel')
    const dialog = h(
      'dialog',
      { class: 'confirm-dialog', 'aria-labelledby': `reason-title-${id}` },
      h('h2', { id: `reason-title-${id}` }, title),
      h('label', { for: `reason-${id}` }, 'Reason (the proposer reads it)'),
      reason,
      h('div', { class: 'dialog-actions' }, cancel, ok),
    )
    let answer: string | null = null
    ok.addEventListener('click', () => {
      if (reason.value.trim() === '') {
        reason.focus()
        return
      }
      answer = reason.value.trim()
      dialog.close()
    })
    cancel.addEventListener('click', () => dialog.close())
    dialog.addEventListener('close', () => {
      dialog.remove()
      if (returnTo?.isConnected) returnTo.focus()
      resolve(answer)
    })
    document.body.append(dialog)
    dialog.showModal()
    reason.focus()
  })
