import * as Y from 'yjs'
import { rootNames } from '../../shared/documentModel.ts'
import { parseDocumentName } from '../../shared/documentName.ts'
import { fetchDevToken, type TestUser } from '../../shared/testing/devTokens.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { connectRawPeer, type RawPeer } from '../../shared/testing/rawPeer.ts'
import { connectStockClient, type StockClient } from '../../shared/testing/stockClient.ts'
import { hostileFrame, type HostileKind } from './hostileFrames.ts'
import { seededRandom } from './seededRandom.ts'

/**
 * A fuzz campaign against a running server: attackers with valid tokens (editors and viewers, legal
 * and not) send hostile frames (`hostileFrames.ts`) into a handful of rooms where honest stock
 * clients keep editing; attackers reconnect whenever the server closes them. Afterwards every honest
 * edit must be on the server and every room must open for a fresh client. The caller watches the
 * server process (a crash ends the campaign) and decides what else to assert.
 */
export interface FuzzOptions {
  readonly httpUrl: string
  readonly url: string
  readonly seed: number
  readonly frames: number
  /** Attacker connections open at once. */
  readonly attackers?: number
  /** Called every `progressEvery` frames (and at the end). */
  readonly onProgress?: (sent: number) => void
  readonly progressEvery?: number
  /** Throws to stop the campaign (e.g. the server process exited). */
  readonly check?: () => void
}

export interface FuzzResult {
  readonly framesSent: number
  readonly byKind: Record<string, number>
  /** Close codes the attackers were given, with counts. */
  readonly closes: Record<string, number>
  readonly reconnects: number
  /** Honest edits made, and rooms checked afterwards. */
  readonly honestEdits: number
  readonly rooms: readonly string[]
}

const ROOMS = ['content/fuzz-legal', 'proposal/fuzz-p', 'customer/fuzz-c', 'content/fuzz-plain'] as const

const ATTACKERS: readonly TestUser[] = [
  { user: 'mallory', role: 'editor' },
  { user: 'mallet', role: 'editor' },
  { user: 'eve', role: 'viewer' },
  { user: 'trudy', role: 'manager' },
]

export const runFuzzCampaign = async (options: FuzzOptions): Promise<FuzzResult> => {
  const { httpUrl, url, seed, frames } = options
  const random = seededRandom(seed)
  const token = (user: TestUser) => fetchDevToken(httpUrl, { tenant: 'fuzz', ...user })

  // Honest users, one per room, with a stock provider each: their client ids are what attackers steal.
  const honest: Array<{ room: string; client: StockClient; edits: string[] }> = []
  for (const room of ROOMS) {
    const client = connectStockClient(url, room, { params: { token: await token({ user: `honest-${room.split('/')[1]}`, role: 'editor', legal: true }) } })
    await client.whenSynced()
    honest.push({ room, client, edits: [] })
  }
  // An attacker can only learn the client ids honest clients show: in awareness (the app shows a
  // cursor at once) and in what they wrote. Each shows its id and writes before attackers arrive.
  for (const entry of honest) entry.client.provider.awareness.setLocalStateField('cursor', null)
  const legal = honest.find((entry) => entry.room === 'content/fuzz-legal')!
  legal.client.doc.getMap('meta').set('legal', true)
  legal.client.doc.getMap('meta').set('title', 'Legal terms')

  const honestEdit = (entry: (typeof honest)[number]) => {
    const text = `h${entry.edits.length}`
    entry.edits.push(text)
    const { type } = parseDocumentName(entry.room)
    const fragment = entry.client.doc.getXmlFragment(rootNames(type).richText[0]!)
    const paragraph = new Y.XmlElement('paragraph')
    paragraph.insert(0, [new Y.XmlText(text)])
    fragment.insert(fragment.length, [paragraph])
  }

  for (const entry of honest) honestEdit(entry)

  const byKind: Record<string, number> = {}
  const closes: Record<string, number> = {}
  let reconnects = 0
  const attackerCount = options.attackers ?? 4
  const connectAttacker = async (index: number): Promise<{ peer: RawPeer; room: string }> => {
    const room = random.pick(ROOMS)
    const user = ATTACKERS[index % ATTACKERS.length]!
    const peer = await connectRawPeer(`${url}/${room}?ext=1&token=${encodeURIComponent(await token(user))}`)
    void peer.closed.then(({ code }) => (closes[code] = (closes[code] ?? 0) + 1))
    return { peer, room }
  }
  const attackers = await Promise.all(Array.from({ length: attackerCount }, (_, index) => connectAttacker(index)))

  let sent = 0
  while (sent < frames) {
    options.check?.()
    const slot = random.int(attackers.length)
    let attacker = attackers[slot]!
    if (attacker.peer.socket.readyState !== attacker.peer.socket.OPEN) {
      attacker = attackers[slot] = await connectAttacker(slot)
      reconnects++
    }
    const { type } = parseDocumentName(attacker.room)
    const { maps, richText } = rootNames(type)
    const victims = honest.filter((entry) => entry.room === attacker.room).map((entry) => entry.client.doc.clientID)
    const { kind, bytes } = hostileFrame(random, { maps, richText, victimClientIds: victims })
    attacker.peer.send(bytes)
    byKind[kind] = (byKind[kind] ?? 0) + 1
    sent++
    if (sent % 25 === 0) honestEdit(random.pick(honest))
    // Let the server's answers (and its backpressure) through instead of queueing without bound here.
    while (attacker.peer.socket.bufferedAmount > 1024 * 1024) await new Promise((resolve) => setTimeout(resolve, 5))
    if (sent % 10 === 0) await new Promise((resolve) => setImmediate(resolve))
    if (options.onProgress && sent % (options.progressEvery ?? 1000) === 0) options.onProgress(sent)
  }
  for (const attacker of attackers) attacker.peer.close()
  options.onProgress?.(sent)

  // Every honest edit reaches the server: a fresh client of each room sees all of them.
  let honestEdits = 0
  for (const entry of honest) {
    honestEdits += entry.edits.length
    const { type } = parseDocumentName(entry.room)
    const root = rootNames(type).richText[0]!
    const fresh = connectStockClient(url, entry.room, { params: { token: await token({ user: 'auditor', role: 'viewer' }) } })
    try {
      await fresh.whenSynced()
      await eventually(() => {
        const text = fresh.doc.getXmlFragment(root).toString()
        const missing = entry.edits.filter((edit) => !text.includes(`>${edit}<`))
        options.check?.()
        if (missing.length > 0) throw new Error(`${entry.room}: ${missing.length} honest edits missing on the server (${missing.slice(0, 5).join(', ')})`)
      })
    } finally {
      fresh.destroy()
    }
    entry.client.destroy()
  }
  return { framesSent: sent, byKind, closes, reconnects, honestEdits, rooms: [...ROOMS] }
}

/** Kinds the generator draws, for reports. */
export type { HostileKind }
