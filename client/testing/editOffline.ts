/**
 * A desktop shell's session, as its own process, for the restart tests: opens a proposal with a
 * local LevelDB, sets its title and appends a paragraph to its body, destroys the handle and
 * exits by itself (nothing may keep the process alive).
 *
 *   node --import tsx client/testing/editOffline.ts <directory> <server url> <id> <title> <paragraph>
 *
 * Prints one JSON line: { status, saved } as they were before destroy.
 */
import * as Y from 'yjs'
import { openDocument } from '../node.ts'

const [directory, url, id, title, text] = process.argv.slice(2)
if (!directory || !url || !id || title === undefined || text === undefined) {
  console.error('usage: editOffline.ts <directory> <server url> <id> <title> <paragraph>')
  process.exit(2)
}

const handle = openDocument('proposal', id, { url, offline: { directory } })
handle.on('error', (error) => console.error(error))
await handle.whenLoaded()
handle.model.meta.set('title', title)
const paragraph = new Y.XmlElement('paragraph')
paragraph.insert(0, [new Y.XmlText(text)])
handle.model.body.insert(handle.model.body.length, [paragraph])
console.log(JSON.stringify({ status: handle.status, saved: handle.saved }))
await handle.destroy()
