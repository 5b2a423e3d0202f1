import { setTimeout as sleep } from 'node:timers/promises'
import * as Y from 'yjs'
import { benchToken, connectBenchClient, createParagraph, destroyAll, ownClock, paragraphText, type BenchClient } from '../clients.ts'
import { distribution, round, type Distribution } from '../statistics.ts'
import { waitUntil } from '../waitUntil.ts'
import type { BenchCluster } from './benchCluster.ts'

/**
 * (b) Failover: a writer on one node types into a document another node owns; the owner is killed
 * with SIGKILL (no lease release, no flush). Failover time runs from the kill until the first
 * acknowledgement (extension ack: durable) of a write made after the kill, through the writer's
 * node, which must take the document over once the dead owner's lease has expired. Then every
 * write acknowledged at any time must be in the document as a third node reads it: an
 * acknowledged write that is not is a lost update, counted across the rounds (must be 0).
 */
export interface FailoverOptions {
  readonly rounds: number
  /** One insert every this many ms while the round runs. */
  readonly writeIntervalMs: number
  /** Give up on a round after this long without a post-kill ack. */
  readonly timeoutMs: number
}

export const FAILOVER_DEFAULTS: FailoverOptions = { rounds: 10, writeIntervalMs: 20, timeoutMs: 60_000 }

export interface FailoverRound {
  readonly killed: string
  readonly writerOn: string
  /** null: no write was acknowledged again within the timeout. */
  readonly failoverMs: number | null
  readonly acknowledged: number
  readonly lost: number
}

export interface FailoverResult {
  readonly part: 'failover'
  readonly params: FailoverOptions
  readonly failoverMs: Distribution
  readonly rounds: FailoverRound[]
  /** Acknowledged writes missing afterwards, all rounds together: must be 0. */
  readonly lostAcknowledged: number
  readonly problems: string[]
}

export const runFailover = async (cluster: BenchCluster, options: FailoverOptions, runId: string, log: (line: string) => void): Promise<FailoverResult> => {
  const count = cluster.nodes.length
  if (count < 3) throw new Error('failover needs three nodes (owner, writer, reader)')
  const rounds: FailoverRound[] = []
  for (let round = 0; round < options.rounds; round++) {
    const [ownerIndex, writerIndex, readerIndex] = [round % count, (round + 1) % count, (round + 2) % count]
    const owner = cluster.nodes[ownerIndex]!
    const writerNode = cluster.nodes[writerIndex]!
    const readerNode = cluster.nodes[readerIndex]!
    const room = `proposal/cluster-failover-${runId}-${round}`
    const token = await benchToken(writerNode.url, { user: 'failover', role: 'editor', tenant: 'bench' })
    const ws = (url: string) => url.replace('http', 'ws')
    const clients: BenchClient[] = []
    let killed = false
    try {
      // The node that opens a document first owns it.
      const anchor = connectBenchClient({ url: ws(owner.url), room, token, label: 'anchor' })
      clients.push(anchor)
      if (!(await anchor.whenSynced(30_000))) throw new Error(`round ${round}: the anchor did not sync on ${owner.name}`)
      const writer = connectBenchClient({ url: ws(writerNode.url), room, token, label: 'writer', ext: true })
      clients.push(writer)
      if (!(await writer.whenSynced(30_000))) throw new Error(`round ${round}: the writer did not sync on ${writerNode.name}`)
      createParagraph(writer.doc)
      const writerId = writer.doc.clientID
      let acked = 0
      let killedAt: number | null = null
      let clockAtKill = 0
      let recoveredAt: number | null = null
      writer.onAck((ack) => {
        const clock = ack.durableStateVector.get(writerId) ?? 0
        acked = Math.max(acked, clock)
        if (killedAt !== null && recoveredAt === null && clock > clockAtKill) recoveredAt = ack.at
      })
      let writing = true
      const typing = (async () => {
        for (let i = 0; writing; i++) {
          const text = paragraphText(writer.doc)!
          text.insert(text.length, String.fromCharCode(97 + (i % 26)))
          await sleep(options.writeIntervalMs)
        }
      })()
      await waitUntil(() => acked >= 20, { timeoutMs: 30_000 })
      clockAtKill = ownClock(writer.doc)
      killedAt = performance.now()
      killed = true
      await owner.kill()
      anchor.destroy()
      const recovered = await waitUntil(() => recoveredAt !== null, { timeoutMs: options.timeoutMs, intervalMs: 10 })
      writing = false
      await typing
      // Everything written is acknowledged in the end (the provider resends what was unacknowledged).
      await waitUntil(() => acked >= ownClock(writer.doc), { timeoutMs: 30_000 })
      const reader = connectBenchClient({ url: ws(readerNode.url), room, token, label: 'reader' })
      clients.push(reader)
      if (!(await reader.whenSynced(30_000))) throw new Error(`round ${round}: the reader did not sync on ${readerNode.name}`)
      const present = Y.getState(reader.doc.store, writerId)
      const lost = Math.max(0, acked - present)
      const failoverMs = recovered && recoveredAt !== null ? round2(recoveredAt - killedAt) : null
      rounds.push({ killed: owner.name, writerOn: writerNode.name, failoverMs, acknowledged: acked, lost })
      log(`failover round ${round + 1}/${options.rounds}: killed ${owner.name}, acked again after ${failoverMs ?? 'never'} ms, ${acked} acknowledged, ${lost} lost`)
    } finally {
      destroyAll(clients)
      if (killed) await cluster.restart(ownerIndex)
    }
  }
  const lostAcknowledged = rounds.reduce((sum, r) => sum + r.lost, 0)
  const problems: string[] = []
  if (lostAcknowledged > 0) problems.push(`failover: ${lostAcknowledged} acknowledged updates lost`)
  const stuck = rounds.filter((r) => r.failoverMs === null).length
  if (stuck > 0) problems.push(`failover: ${stuck} rounds without an acknowledged write within ${options.timeoutMs} ms`)
  return {
    part: 'failover',
    params: options,
    failoverMs: distribution(rounds.flatMap((r) => (r.failoverMs === null ? [] : [r.failoverMs]))),
    rounds,
    lostAcknowledged,
    problems,
  }
}

const round2 = (value: number) => round(value, 0)
