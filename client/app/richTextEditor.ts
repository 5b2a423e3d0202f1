import { baseKeymap, toggleMark, setBlockType } from 'prosemirror-commands'
import { keymap } from 'prosemirror-keymap'
import { schema } from 'prosemirror-schema-basic'
import { EditorState, type Command } from 'prosemirror-state'
import { EditorView } from 'prosemirror-view'
import { redo, undo, yCursorPlugin, ySyncPlugin, yUndoPlugin } from 'y-prosemirror'
import type { Awareness } from 'y-protocols/awareness'
import type * as Y from 'yjs'
import { Disposables, h } from './dom.ts'

/**
 * A rich-text field bound to a Y.XmlFragment through y-prosemirror (the Yjs authors' ProseMirror
 * binding): remote carets and names from awareness, undo limited to this user's own changes.
 * ProseMirror's basic schema: paragraphs, headings, lists of marks (bold, italic, code, links) —
 * element names match what other clients (and the bench) write: `<paragraph>`, `<heading>`.
 */
export const richTextEditor = (
  fragment: Y.XmlFragment,
  awareness: Awareness,
  /** `readOnly` as a function is read again on the returned element's `posalpro:refresh` event. */
  { label, readOnly: readOnlyOption }: { label: string; readOnly: boolean | (() => boolean) },
  disposables: Disposables,
): HTMLElement => {
  const readOnly = () => (typeof readOnlyOption === 'function' ? readOnlyOption() : readOnlyOption)
  const mount = h('div', { class: 'rich-text' })
  const command = (run: Command) => () => {
    run(view.state, view.dispatch, view)
    view.focus()
  }
  const button = (text: string, title: string, run: Command) => {
    const element = h('button', { type: 'button', title, 'aria-label': title }, text)
    element.addEventListener('mousedown', (event) => event.preventDefault()) // keep the selection
    element.addEventListener('click', command(run))
    return element
  }
  const toolbar = h(
    'div',
    { class: 'toolbar', role: 'toolbar', 'aria-label': `${label} formatting` },
    button('B', 'Bold (Ctrl+B)', toggleMark(schema.marks.strong!)),
    button('I', 'Italic (Ctrl+I)', toggleMark(schema.marks.em!)),
    button('H', 'Heading', setBlockType(schema.nodes.heading!, { level: 2 })),
    button('¶', 'Paragraph', setBlockType(schema.nodes.paragraph!)),
    button('↶', 'Undo (Ctrl+Z)', undo),
    button('↷', 'Redo (Ctrl+Shift+Z)', redo),
  )
  const state = EditorState.create({
    schema,
    plugins: [
      ySyncPlugin(fragment),
      yCursorPlugin(awareness),
      yUndoPlugin(),
      keymap({
        'Mod-z': undo,
        'Mod-y': redo,
        'Mod-Shift-z': redo,
        'Mod-b': toggleMark(schema.marks.strong!),
        'Mod-i': toggleMark(schema.marks.em!),
      }),
      keymap(baseKeymap),
    ],
  })
  const view = new EditorView(mount, {
    state,
    editable: () => !readOnly(),
    attributes: () => ({ role: 'textbox', 'aria-multiline': 'true', 'aria-label': label, 'aria-readonly': String(readOnly()), class: 'prose' }),
  })
  disposables.add(() => view.destroy())
  const field = h('div', { class: 'rich-text-field' }, toolbar, mount)
  const refresh = () => {
    // A new props object makes ProseMirror read `editable` and `attributes` again.
    view.setProps({ editable: () => !readOnly() })
    toolbar.hidden = readOnly()
  }
  disposables.listen(field, 'posalpro:refresh', refresh)
  toolbar.hidden = readOnly()
  return field
}
