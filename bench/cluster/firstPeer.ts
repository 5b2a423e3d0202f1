import { setTimeout as sleep } from 'node:timers/promises'
import * as Y from 'yjs'
import { createParagraph, ownClock, paragraphText, type BenchClient } from '../clients.ts'
import { distribution, type Distribution } from '../statistics.ts'
import { waitUntil } from '../waitUntil.ts'

export interface FirstPeerOptions {
  /** Measured inserts. */
  readonly inserts: number
  /** Unmeasured inserts first (JIT, connection warm-up). */
  readonly warmup: number
  /** One insert every this many ms. */
  readonly intervalMs: number
  /** Later than this counts as undelivered. */
  readonly timeoutMs: number
}

export interface FirstPeerFigures {
  readonly firstPeerMs: Distribution
  readonly sent: number
  readonly undelivered: number
}

/**
 * First-peer latency: the sender inserts one character at a fixed rate; each insert's latency runs
 * until the first of the receivers has integrated it (the server's hop, and in cluster mode the
 * node-to-node hop when the clients sit on a node that does not own the document).
 */
export const measureFirstPeer = async (sender: BenchClient, receivers: readonly BenchClient[], options: FirstPeerOptions): Promise<FirstPeerFigures> => {
  createParagraph(sender.doc)
  if (!(await waitUntil(() => receivers.every((receiver) => paragraphText(receiver.doc) !== null), { timeoutMs: 15_000 }))) {
    throw new Error('the paragraph did not reach every receiver')
  }
  interface InFlight {
    readonly clock: number
    readonly sentAt: number
    readonly measured: boolean
    firstAt: number | null
  }
  const inFlight = new Set<InFlight>()
  const all: InFlight[] = []
  const listeners = receivers.map((receiver) => {
    const listener = (_update: Uint8Array, origin: unknown) => {
      if (origin !== receiver.provider) return
      const now = performance.now()
      const seen = Y.getState(receiver.doc.store, sender.doc.clientID)
      for (const entry of inFlight) {
        if (seen < entry.clock) continue
        entry.firstAt = now
        inFlight.delete(entry)
      }
    }
    receiver.doc.on('update', listener)
    return () => receiver.doc.off('update', listener)
  })
  try {
    const total = options.warmup + options.inserts
    const startedAt = performance.now()
    for (let i = 0; i < total; i++) {
      const wait = startedAt + i * options.intervalMs - performance.now()
      if (wait > 0) await sleep(wait)
      const text = paragraphText(sender.doc)!
      const sentAt = performance.now()
      text.insert(text.length, String.fromCharCode(97 + (i % 26)))
      const entry: InFlight = { clock: ownClock(sender.doc), sentAt, measured: i >= options.warmup, firstAt: null }
      all.push(entry)
      inFlight.add(entry)
    }
    await waitUntil(() => inFlight.size === 0, { timeoutMs: options.timeoutMs })
  } finally {
    for (const stop of listeners) stop()
  }
  const measured = all.filter((entry) => entry.measured)
  const inTime = measured.flatMap((entry) =>
    entry.firstAt !== null && entry.firstAt - entry.sentAt <= options.timeoutMs ? [entry.firstAt - entry.sentAt] : [],
  )
  return { firstPeerMs: distribution(inTime), sent: measured.length, undelivered: measured.length - inTime.length }
}
