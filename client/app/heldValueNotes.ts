import type { DocumentType } from '../../shared/documentName.ts'
import type { PendingReview } from '../../shared/extensionProtocol.ts'
import { h, type Disposables } from './dom.ts'
import { fieldLabel } from './fieldLabels.ts'
import { reasonDialog } from './reasonDialog.ts'
import type { Toasts } from './toasts.ts'

/** Who reviews what each rule holds, in the words a proposer reads ("waiting for a manager's review"). */
const REVIEWER: Record<string, string> = { 'financial-review': "a manager's review", 'legal-review': 'a legal review' }
const RULE_NAME: Record<string, string> = { 'financial-review': 'financial review', 'legal-review': 'legal review' }

const NUMBER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 6 })

/** A proposed value as the field would show it: numbers grouped (12,000), text as it reads. */
export const formatProposed = (review: Pick<PendingReview, 'proposed'>): string => {
  const { proposed } = review
  if (proposed === undefined || proposed === null || proposed === '') return '(empty)'
  if (typeof proposed === 'number') return NUMBER.format(proposed)
  if (typeof proposed === 'string') return proposed
  return JSON.stringify(proposed)
}

/** The note's sentence for this user: the proposer waits, a decider is asked. */
export const heldValueText = (review: PendingReview, userId: string): string =>
  review.proposer.userId === userId
    ? `${formatProposed(review)} — waiting for ${REVIEWER[review.rule] ?? 'a review'}`
    : `${review.proposer.name ?? review.proposer.userId} proposes ${formatProposed(review)} (${RULE_NAME[review.rule] ?? review.rule})`

export interface HeldValueNotesOptions {
  readonly type: DocumentType
  readonly userId: string
  /** Shows Approve / Reject on others' items (the server sends only items the user may see, and decides whether a decision is theirs). */
  readonly mayDecide: boolean
  readonly token: () => Promise<string>
  readonly toasts: Toasts
  readonly disposables: Disposables
}

/**
 * A change held for review stays visible where it was made: the field keeps the document's value
 * and a note beside it says what is proposed — to its proposer ("12,000 — waiting for a manager's
 * review") and to whoever may decide ("Bob proposes 12,000 (financial review)", with Approve and
 * Reject). A held rich-text edit's note sits above the editor with the proposed text readable.
 * The list comes from the server (on connect and on every change), so it survives reloads.
 * `show` takes a new list; `place` puts the notes into a form (called again when the form is built).
 */
export const heldValueNotes = (options: HeldValueNotesOptions) => {
  let reviews: readonly PendingReview[] = []
  let form: HTMLElement | null = null

  const decide = async (review: PendingReview, action: 'approve' | 'reject', buttons: HTMLButtonElement[]) => {
    let body: string | undefined
    if (action === 'reject') {
      const reason = await reasonDialog({ title: `Reject the change to ${fieldLabel(options.type, review.path) ?? review.path}?`, confirm: 'Reject' })
      if (reason === null) return
      body = JSON.stringify({ reason })
    }
    for (const button of buttons) button.disabled = true
    try {
      const response = await fetch(`/api/reviews/${encodeURIComponent(review.id)}/${action}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await options.token()}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body } : {}),
      })
      const answer = (await response.json()) as { status?: string; error?: { message: string } }
      if (!response.ok) throw new Error(answer.error?.message ?? `${action} failed (${response.status})`)
      // The server's new list removes the note; a stale proposal changed nothing: say so.
      if (answer.status === 'stale') options.toasts.show(`Not applied: ${fieldLabel(options.type, review.path) ?? 'the field'} changed since it was proposed.`, 'warning')
    } catch (error) {
      options.toasts.show(`Could not ${action} the change: ${(error as Error).message}`, 'error')
      for (const button of buttons) button.disabled = false
    }
  }

  const noteFor = (review: PendingReview): HTMLElement => {
    const note = h('div', { class: 'held-note', role: 'note', 'data-review-id': review.id, 'data-path': review.path })
    const isText = review.kind === 'text'
    const sentence = isText
      ? review.proposer.userId === options.userId
        ? `Your edit is waiting for ${REVIEWER[review.rule] ?? 'a review'}. Proposed text:`
        : `${review.proposer.name ?? review.proposer.userId} proposes an edit (${RULE_NAME[review.rule] ?? review.rule}). Proposed text:`
      : heldValueText(review, options.userId)
    note.append(h('p', { class: 'held-note-text' }, sentence))
    if (isText) note.append(h('blockquote', { class: 'held-note-proposed' }, formatProposed(review)))
    if (options.mayDecide && review.proposer.userId !== options.userId) {
      const approve = h('button', { type: 'button' }, 'Approve')
      const reject = h('button', { type: 'button', class: 'secondary' }, 'Reject')
      const buttons = [approve, reject]
      approve.addEventListener('click', () => void decide(review, 'approve', buttons))
      reject.addEventListener('click', () => void decide(review, 'reject', buttons))
      note.append(h('div', { class: 'held-note-actions' }, approve, reject))
    }
    return note
  }

  /** Where a held path's note goes: after its field, or above the rich-text editor. */
  const anchorOf = (review: PendingReview): { element: Element; where: 'append' | 'before' } | null => {
    if (!form) return null
    if (review.kind === 'text') {
      const editor = form.querySelector('.rich-text-field')
      return editor ? { element: editor, where: 'before' } : null
    }
    const key = review.path.slice(review.path.indexOf('.') + 1)
    const field = form.querySelector(`[data-field="${CSS.escape(key)}"]`)?.closest('.field')
    return field ? { element: field, where: 'append' } : null
  }

  const place = (target: HTMLElement | null = form) => {
    form = target
    if (!form) return
    for (const old of form.querySelectorAll('.held-note')) old.remove()
    for (const review of reviews) {
      const anchor = anchorOf(review)
      if (!anchor) continue
      const note = noteFor(review)
      if (anchor.where === 'append') anchor.element.append(note)
      else anchor.element.before(note)
    }
  }

  const show = (next: readonly PendingReview[]) => {
    reviews = next
    place()
  }
  options.disposables.add(() => {
    reviews = []
    form = null
  })
  return { show, place }
}
