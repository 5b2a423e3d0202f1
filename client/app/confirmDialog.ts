import { h } from './dom.ts'

let nextId = 0

/**
 * Asks before something that cannot be taken back: a modal `<dialog>` (focus is kept inside it,
 * Escape cancels), focus on Cancel so Enter never confirms by accident. Resolves to whether the
 * user confirmed; the dialog is removed afterwards and focus returns where it was.
 */
export const confirmDialog = ({ title, body, confirm }: { title: string; body: string; confirm: string }): Promise<boolean> =>
  new Promise((resolve) => {
    const returnTo = document.activeElement instanceof HTMLElement ? document.activeElement : null
    const titleId = `confirm-title-${++nextId}`
    const ok = h('button', { type: 'button', value: 'confirm' }, confirm)
    const cancel = h('button', { type: 'button', class: 'secondary', value: 'cancel', autofocus: true }, 'Cancel')
    const dialog = h(
      'dialog',
      { class: 'confirm-dialog', 'aria-labelledby': titleId },
      h('h2', { id: titleId }, title),
      h('p', {}, body),
      h('div', { class: 'dialog-actions' }, cancel, ok),
    )
    let confirmed = false
    ok.addEventListener('click', () => {
      confirmed = true
      dialog.close()
    })
    cancel.addEventListener('click', () => dialog.close())
    dialog.addEventListener('close', () => {
      dialog.remove()
      if (returnTo?.isConnected) returnTo.focus()
      resolve(confirmed)
    })
    document.body.append(dialog)
    dialog.showModal()
    cancel.focus()
  })
