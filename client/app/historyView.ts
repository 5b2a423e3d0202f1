import type { ConflictRecord } from '../../shared/conflictRecord.ts'
import type { DocumentType } from '../../shared/documentName.ts'
import { atLeast } from '../../shared/rules/roles.ts'
import type { VersionDifference, VersionField } from '../../server/history/documentVersion.ts'
import type { RestoreResult } from '../../server/history/restoreThroughGate.ts'
import type { TimelineEvent, TimelinePage } from '../../server/history/timelinePage.ts'
import type { TextBlock } from '../../shared/richTextBlocks.ts'
import { apiCall } from './appApi.ts'
import { confirmDialog } from './confirmDialog.ts'
import { h } from './dom.ts'
import { fieldLabel, withFieldLabels } from './fieldLabels.ts'
import { editingSessions } from './historySessions.ts'
import { tokenSource, type Session } from './session.ts'
import { richTextDiffView, richTextView, timeView, valueText } from './valueText.ts'

/** Timeline entries fetched per "Load older changes". */
const PAGE_SIZE = 50

const OUTCOME_TEXT: Record<TimelineEvent['outcome'], string> = {
  accepted: 'saved',
  rejected: 'refused',
  review: 'held for review',
  admin: 'admin change',
  compensation: 'undone by the server',
  integrity: "a device's copy was found damaged and reloaded from the server",
}

const RULE_TEXT: Record<string, string> = {
  'financial-review': 'financial review',
  'legal-review': 'legal review',
  'timestamp-wins': 'the later edit wins',
  'last-writer-wins': 'concurrent edit',
  revert: 'revert',
  import: 'import',
  'legacy-text': 'text field moved',
}

/** Display names seen in the loaded history: an event recorded without one (an admin change, an approval) borrows its user's. */
const knownNames = new Map<string, string>()
const who = (event: { userId: string; userName?: string }): string =>
  event.userId === 'server' ? 'PosalPro' : (event.userName ?? knownNames.get(event.userId) ?? event.userId)

/**
 * A document's version history (`#/doc/<type>/<id>/history`): the event log as readable sessions
 * (who, when, which fields in the form's words, what became of each change, conflicts with both
 * values), loaded a page at a time; any point opens read-only with its differences from now; a
 * manager or admin can restore it, as their own change through the rules.
 */
export const historyView = (session: Session, type: DocumentType, id: string): { element: HTMLElement; dispose: () => void } => {
  const token = tokenSource(session)
  const name = `${type}/${id}`
  const base = `/documents/${type}/${encodeURIComponent(id)}/history`
  const mayRestore = atLeast(session.role, 'manager')
  const label = (path: string) => fieldLabel(type, path) ?? path
  const events: TimelineEvent[] = []
  const conflicts = new Map<number, ConflictRecord[]>()
  let next: number | null = null
  let disposed = false

  const status = h('p', { class: 'hint', role: 'status' })
  const timeline = h('div', { class: 'history-timeline', 'aria-busy': 'true' })
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Load older changes')
  const versionPanel = h('section', { class: 'history-version', 'aria-labelledby': 'history-version-title', hidden: true })

  const render = () => {
    const sessions = editingSessions(events)
    timeline.replaceChildren(
      sessions.length === 0
        ? h('p', { class: 'empty' }, 'No changes recorded yet.')
        : h(
            'ol',
            { class: 'history-sessions' },
            ...sessions.map((editing) =>
              h(
                'li',
                { class: 'history-session' },
                h('h2', {}, who(editing), ' · ', timeView(editing.from), editing.events.length > 1 ? ` – ${new Date(editing.to).toLocaleTimeString()}` : ''),
                h('ol', { class: 'history-events' }, ...editing.events.map(eventView)),
              ),
            ),
          ),
    )
    more.hidden = next === null
  }

  const eventView = (event: TimelineEvent): HTMLElement => {
    const fields = event.paths.map(label).join(', ') || 'the document'
    const rules = event.ruleIds.map((rule) => RULE_TEXT[rule] ?? rule).join(', ')
    const outcome = event.reviewId && event.outcome === 'admin' ? 'approved review' : OUTCOME_TEXT[event.outcome]
    const actions = h('div', { class: 'history-actions' })
    if (event.applied) {
      const view = h('button', { type: 'button', class: 'secondary', 'aria-label': `View the version after change ${event.seq}` }, 'View')
      view.addEventListener('click', () => void showVersion(event))
      actions.append(view)
      if (mayRestore) {
        const restore = h('button', { type: 'button', class: 'secondary', 'aria-label': `Restore this version (after change ${event.seq})` }, 'Restore this version')
        restore.addEventListener('click', () => void restoreVersion(event))
        actions.append(restore)
      }
    }
    return h(
      'li',
      { class: 'history-event', 'data-seq': event.seq, 'data-outcome': event.outcome },
      h('p', { class: 'history-event-text' }, timeView(event.at), ` ${fields} — `, h('span', { class: `outcome outcome-${event.outcome}` }, outcome), rules ? ` (${rules})` : ''),
      ...event.serverChanges.map((change) =>
        h('p', { class: 'history-server-change' }, `Then the server ${change.outcome === 'compensation' ? 'undid' : 'changed'} ${change.paths.map(label).join(', ') || 'the document'}${change.ruleIds.length ? ` (${change.ruleIds.map((rule) => RULE_TEXT[rule] ?? rule).join(', ')})` : ''}`),
      ),
      ...(conflicts.get(event.seq) ?? []).map((conflict) =>
        h(
          'p',
          { class: 'history-conflict' },
          `Conflict on ${label(conflict.path)}: ${conflict.winner.name ?? conflict.winner.userId}'s ${valueText(conflict.winner.value)} was kept; ${conflict.loser.name ?? conflict.loser.userId}'s ${valueText(conflict.loser.value)} was replaced.`,
        ),
      ),
      actions,
    )
  }

  const loadPage = async () => {
    timeline.setAttribute('aria-busy', 'true')
    more.disabled = true
    try {
      const query = new URLSearchParams({ limit: String(PAGE_SIZE), ...(next !== null ? { before: String(next) } : {}) })
      const page = await apiCall<TimelinePage>(token, 'GET', `${base}?${query}`)
      if (disposed) return
      events.push(...page.events)
      for (const event of page.events) if (event.userName) knownNames.set(event.userId, event.userName)
      for (const conflict of page.conflicts) conflicts.set(conflict.eventSeq, [...(conflicts.get(conflict.eventSeq) ?? []), conflict])
      next = page.next
      render()
    } catch (error) {
      status.textContent = `The history could not be loaded: ${(error as Error).message}`
    } finally {
      timeline.setAttribute('aria-busy', 'false')
      more.disabled = false
    }
  }

  const fieldValue = (field: { kind: VersionField['kind']; value: unknown }): Node =>
    field.kind === 'rich-text' ? richTextView((field.value ?? []) as TextBlock[]) : document.createTextNode(valueText(field.value))

  const showVersion = async (event: TimelineEvent) => {
    versionPanel.hidden = false
    versionPanel.setAttribute('aria-busy', 'true')
    const heading = h('h2', { id: 'history-version-title', tabindex: '-1' }, `Version after change ${event.seq} (`, timeView(event.at), `, ${who(event)})`)
    versionPanel.replaceChildren(heading, h('p', {}, 'Loading…'))
    heading.focus()
    try {
      const [version, diff] = await Promise.all([
        apiCall<{ fields: VersionField[] }>(token, 'GET', `${base}/${event.seq}`),
        apiCall<{ differences: VersionDifference[] }>(token, 'GET', `${base}/${event.seq}/diff`),
      ])
      if (disposed) return
      versionPanel.replaceChildren(
        heading,
        h('p', { class: 'hint' }, 'Read-only: the document as it was then.'),
        h('dl', { class: 'version-fields' }, ...version.fields.flatMap((field) => [h('dt', {}, label(field.path)), h('dd', {}, fieldValue(field))])),
        h('h3', {}, 'Compared with now'),
        diff.differences.length === 0
          ? h('p', {}, 'The document is the same now.')
          : h(
              'table',
              { class: 'version-diff' },
              h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Then'), h('th', { scope: 'col' }, 'Now'))),
              h(
                'tbody',
                {},
                ...diff.differences.map((difference) =>
                  h(
                    'tr',
                    { 'data-path': difference.path },
                    h('th', { scope: 'row' }, label(difference.path)),
                    difference.diff
                      ? h('td', { colspan: 2 }, richTextDiffView(difference.diff))
                      : h('td', {}, fieldValue({ kind: difference.kind, value: difference.then })),
                    difference.diff ? null : h('td', {}, fieldValue({ kind: difference.kind, value: difference.now })),
                  ),
                ),
              ),
            ),
      )
    } catch (error) {
      versionPanel.replaceChildren(heading, h('p', { class: 'error' }, `This version could not be loaded: ${(error as Error).message}`))
    } finally {
      versionPanel.setAttribute('aria-busy', 'false')
    }
  }

  const restoreVersion = async (event: TimelineEvent) => {
    const when = new Date(event.at).toLocaleString()
    const confirmed = await confirmDialog({
      title: 'Restore this version?',
      body: `Every field goes back to how it was after change ${event.seq} (${when}), as your own change: the rules check it like any edit, and it is recorded in the history.`,
      confirm: 'Restore',
    })
    if (!confirmed) return
    try {
      const result = await apiCall<RestoreResult>(token, 'POST', `${base}/${event.seq}/restore`)
      const restored = result.paths.filter((path) => !result.refused.some((notice) => notice.path === path)).map(label)
      const refused = result.refused.map((notice) => `${label(notice.path)} (${withFieldLabels(type, notice.message)})`)
      status.textContent =
        result.outcome === 'unchanged'
          ? 'Nothing to restore: the document is the same as that version.'
          : [restored.length ? `Restored for everyone: ${restored.join(', ')}.` : '', refused.length ? `Not restored: ${refused.join('; ')}.` : ''].filter(Boolean).join(' ')
    } catch (error) {
      status.textContent = `Not restored: ${(error as Error).message}`
    }
    events.length = 0
    conflicts.clear()
    next = null
    await loadPage()
  }

  more.addEventListener('click', () => void loadPage())
  document.title = `History of ${name} — PosalPro`
  const element = h(
    'section',
    { class: 'history' },
    h('a', { href: `#/doc/${name}`, class: 'back' }, '← Back to the document'),
    h('h1', {}, `History of ${type} ${id}`),
    status,
    h('div', { class: 'history-layout' }, h('div', {}, timeline, more), versionPanel),
  )
  void loadPage()
  return { element, dispose: () => void (disposed = true) }
}
