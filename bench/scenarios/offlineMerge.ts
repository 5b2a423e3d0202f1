import * as Y from 'yjs'
import { ackCovers, benchToken, connectBenchClient, createParagraph, ownClock, type Ack, type BenchClient } from '../clients.ts'
import { openWindow } from '../measuredWindow.ts'
import { readProcStats, RssSampler, usageBetween, type GeneratorUsage, type MachineUsage, type ProcSnapshot, type ProcUsage } from '../procStats.ts'
import { serverFigures, type ScenarioContext, type ScenarioResultBase, type ServerFigures } from '../scenario.ts'
import type { BenchServer } from '../serverProcess.ts'
import { distribution, randomInt, round, seededRandom, type Distribution } from '../statistics.ts'

/**
 * `offline-merge`: how long a reconnecting offline client waits until its changes are validated
 * and durable, and what validating a long offline session costs. A manager (so financial changes
 * are accepted, not held for review) makes N changes while disconnected — body typing, meta and
 * financial fields, and a few rule-breaking ones — then reconnects. The provider sends them as one
 * sync-step-2 update; we time from `connect()` until the server's ack (extension message 100/0)
 * covers the client's whole clock, and read the server CPU spent meanwhile. Repeated with the
 * gate on and off. An empty reconnect before each batch gives the baseline of a reconnect alone.
 */

export interface OfflineMergeOptions {
  /** Changes made while offline (each its own transaction, as each keystroke/field edit is). */
  readonly changes: number
  /** Of them, rule-breaking (each on its own path, so each is still there when the batch is sent). */
  readonly invalid: number
  readonly repeats: number
  /** How long to wait for the ack of one batch. */
  readonly timeoutMs: number
}

export const OFFLINE_MERGE_DEFAULTS: OfflineMergeOptions = { changes: 1000, invalid: 5, repeats: 5, timeoutMs: 30_000 }

export interface OfflineMergeRepeat {
  /** Size of the update the reconnect has to send (what the server has not seen). */
  readonly batchBytes: number
  /** connect() → synced (the server's sync step 2 arrived). */
  readonly syncedMs: number
  /** connect() → an ack covering the whole batch. */
  readonly ackMs: number
  /** Server CPU over connect → ack, ms: schedstat (ns resolution) where available, else clock ticks (10 ms). */
  readonly serverCpuMs: number
  /** The same window from /proc/<pid>/stat clock ticks (coarse: one tick is usually 10 ms). */
  readonly serverCpuMsTicks: number
  /** The same two figures for a reconnect without offline changes, just before. */
  readonly emptyReconnectAckMs: number
  readonly emptyReconnectServerCpuMs: number
  /** Notices the server sent about this batch (rejected / held for review). */
  readonly notices: number
  /** Rule-breaking paths in the batch: with the gate on, each must get a notice. */
  readonly expectedNotices: number
  readonly noticeRules: string[]
}

export interface OfflineMergeVariant {
  readonly validationGate: boolean
  readonly repeats: OfflineMergeRepeat[]
  readonly ackMs: Distribution
  readonly serverCpuMs: Distribution
  readonly emptyReconnectServerCpuMs: Distribution
  /** Whether serverCpuMs has ns resolution (schedstat) or clock-tick resolution. */
  readonly cpuSource: 'schedstat' | 'stat'
  readonly server: ServerFigures
  readonly generator: GeneratorUsage
  /** The rest of the machine over all repeats (other processes on a shared machine). */
  readonly machine: MachineUsage
}

export interface OfflineMergeResult extends ScenarioResultBase {
  readonly scenario: 'offline-merge'
  readonly params: OfflineMergeOptions
  readonly variants: OfflineMergeVariant[]
  /** Median server CPU per batch, gate on ÷ gate off. */
  readonly gateCostRatio: number | null
}

const CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF'] as const
const LETTERS = 'abcdefghijklmnopqrstuvwxyz     '

/**
 * Rule-breaking changes, each on a path no valid change of the batch writes (so it is still the
 * last write of its key when the batch is sent). Each returns the path it wrote.
 */
const INVALID_CHANGES: ReadonlyArray<(doc: Y.Doc, i: number) => string> = [
  (doc) => {
    doc.getMap('meta').set('status', 'won') // status-transition: draft → won
    return 'meta.status'
  },
  (doc, i) => {
    doc.getMap('team').set(`intruder-${i}`, 'admin') // team-admin-only: the author is a manager
    return `team.intruder-${i}`
  },
  (doc, i) => {
    doc.getMap('meta').set(`priority${i}`, 'high') // schema: not a field of meta
    return `meta.priority${i}`
  },
  (doc) => {
    doc.getMap('meta').set('ownerId', '') // schema: an empty user id
    return 'meta.ownerId'
  },
  (doc, i) => {
    doc.getMap('approvals').set(`reviewer-${i}`, { decision: 'maybe', role: 'manager', at: 'now' }) // schema: no such decision
    return `approvals.reviewer-${i}`
  },
]

/** Makes `options.changes` changes to an offline replica, seeded; returns the paths of the rule-breaking ones. */
const makeOfflineChanges = (doc: Y.Doc, text: Y.XmlText, options: OfflineMergeOptions, random: () => number): Set<string> => {
  const meta = doc.getMap('meta')
  const financial = doc.getMap('financial')
  const invalidAt = new Set(Array.from({ length: options.invalid }, (_, i) => Math.floor(((i + 1) * options.changes) / (options.invalid + 1))))
  const invalidPaths = new Set<string>()
  let cursor = text.length
  let invalidIndex = 0
  for (let i = 0; i < options.changes; i++) {
    if (invalidAt.has(i)) {
      const change = INVALID_CHANGES[invalidIndex % INVALID_CHANGES.length]!
      doc.transact(() => invalidPaths.add(change(doc, invalidIndex)))
      invalidIndex++
      continue
    }
    const kind = random()
    doc.transact(() => {
      if (kind < 0.6) {
        // Body: typing at a cursor, an occasional backspace or jump.
        if (cursor > text.length || random() < 0.03) cursor = randomInt(random, text.length + 1)
        if (cursor > 0 && random() < 0.05) {
          text.delete(--cursor, 1)
        } else {
          text.insert(cursor++, LETTERS[randomInt(random, LETTERS.length)]!)
        }
      } else if (kind < 0.8) {
        switch (randomInt(random, 4)) {
          case 0:
            meta.set('title', `Offline proposal, draft ${i}`)
            break
          case 1:
            meta.set('dueDate', `2026-${String(1 + randomInt(random, 12)).padStart(2, '0')}-${String(1 + randomInt(random, 28)).padStart(2, '0')}`)
            break
          case 2:
            meta.set('currency', CURRENCIES[randomInt(random, CURRENCIES.length)]!)
            break
          default:
            meta.set('customerId', `customer-${randomInt(random, 50)}`)
        }
      } else {
        switch (randomInt(random, 4)) {
          case 0:
            financial.set('value', Math.round(1000 + random() * 1_000_000) / 100)
            break
          case 1:
            financial.set('discountPct', randomInt(random, 31))
            break
          case 2:
            financial.set('marginPct', randomInt(random, 70) - 10)
            break
          default:
            financial.set('paymentTermsDays', randomInt(random, 121))
        }
      }
    })
  }
  return invalidPaths
}

/** Waits for an ack that covers the client's own clock; resolves with it, or null after the timeout. */
const nextCoveringAck = (client: BenchClient, clock: number, timeoutMs: number): Promise<Ack | null> =>
  new Promise((resolve) => {
    const finish = (ack: Ack | null) => {
      clearTimeout(timer)
      stopListening()
      resolve(ack)
    }
    const timer = setTimeout(() => finish(null), timeoutMs)
    const stopListening = client.onAck((ack) => {
      if (ackCovers(ack, client.doc.clientID, clock)) finish(ack)
    })
  })

interface Reconnect {
  readonly ackMs: number
  readonly syncedMs: number
  readonly start: ProcSnapshot
  readonly end: ProcSnapshot
}

/** connect() and wait until the server acknowledged everything this replica holds. */
const reconnect = async (server: BenchServer, client: BenchClient, timeoutMs: number): Promise<Reconnect> => {
  const clock = ownClock(client.doc)
  let syncedAt = Number.NaN
  const onSync = (synced: boolean) => {
    if (synced && Number.isNaN(syncedAt)) syncedAt = performance.now()
  }
  client.provider.on('sync', onSync)
  const acked = nextCoveringAck(client, clock, timeoutMs)
  const start = readProcStats(server.pid)
  client.provider.connect()
  const ack = await acked
  const end = readProcStats(server.pid)
  client.provider.off('sync', onSync)
  if (!ack) throw new Error(`${client.label}: no ack covering clock ${clock} within ${timeoutMs} ms`)
  return { ackMs: ack.at - start.at, syncedMs: syncedAt - start.at, start, end }
}

const cpuMsOf = (usage: ProcUsage): number => usage.cpuMsPrecise ?? usage.cpuMs

const runRepeat = async (
  server: BenchServer,
  token: string,
  user: string,
  repeat: number,
  options: OfflineMergeOptions,
  context: ScenarioContext,
): Promise<OfflineMergeRepeat> => {
  const client = connectBenchClient({ url: server.url, room: `proposal/offline-${context.runId}-${server.validationGate ? 'on' : 'off'}-${repeat}`, token, label: `${user}#${repeat}`, ext: true })
  try {
    if (!(await client.whenSynced())) throw new Error(`${client.label}: did not sync`)
    // Online: the proposal as it was before the trip.
    const text = createParagraph(client.doc)
    client.doc.transact(() => {
      client.doc.getMap('meta').set('status', 'draft')
      client.doc.getMap('meta').set('title', `Offline proposal ${repeat}`)
      client.doc.getMap('financial').set('value', 1000)
      text.insert(0, 'Scope of work: ')
    })
    if (!(await nextCoveringAck(client, ownClock(client.doc), options.timeoutMs))) throw new Error(`${client.label}: setup not acknowledged`)

    // Baseline: going offline and back with nothing to send.
    client.provider.disconnect()
    const empty = await reconnect(server, client, options.timeoutMs)

    // The trip: N changes offline, then back online.
    client.provider.disconnect()
    const serverKnows = Y.encodeStateVector(client.doc)
    const invalidPaths = makeOfflineChanges(client.doc, text, options, seededRandom(context.seed + repeat))
    const batchBytes = Y.encodeStateAsUpdate(client.doc, serverKnows).byteLength
    const noticesBefore = client.notices.length
    const batch = await reconnect(server, client, options.timeoutMs)
    const notices = client.notices.slice(noticesBefore)

    const usage = usageBetween(batch.start, batch.end)
    return {
      batchBytes,
      syncedMs: round(batch.syncedMs),
      ackMs: round(batch.ackMs),
      serverCpuMs: round(cpuMsOf(usage)),
      serverCpuMsTicks: round(usage.cpuMs),
      emptyReconnectAckMs: round(empty.ackMs),
      emptyReconnectServerCpuMs: round(cpuMsOf(usageBetween(empty.start, empty.end))),
      notices: notices.length,
      expectedNotices: invalidPaths.size,
      noticeRules: [...new Set(notices.map((notice) => `${notice.outcome}:${notice.ruleId}`))].sort(),
    }
  } finally {
    client.destroy()
  }
}

const runVariant = async (gate: boolean, options: OfflineMergeOptions, context: ScenarioContext): Promise<OfflineMergeVariant> => {
  const server = await context.target.start({ validationGate: gate })
  // A given server (--url) has its own setting.
  const validationGate = server.validationGate
  try {
    const user = 'manager-1'
    const token = await benchToken(server.httpUrl, { user, role: 'manager', tenant: 'bench' })
    const window = openWindow(server.pid)
    const rss = new RssSampler(server.pid)
    const repeats: OfflineMergeRepeat[] = []
    for (let r = 0; r < options.repeats; r++) {
      const repeat = await runRepeat(server, token, user, r, options, context)
      repeats.push(repeat)
      context.log(
        `offline-merge gate=${validationGate ? 'on' : 'off'} #${r + 1}: ${repeat.batchBytes} B, ack ${repeat.ackMs} ms, ` +
          `server ${repeat.serverCpuMs} ms CPU (empty reconnect ${repeat.emptyReconnectServerCpuMs} ms), ${repeat.notices} notices`,
      )
    }
    const figures = window.close()
    return {
      validationGate,
      repeats,
      ackMs: distribution(repeats.map((r) => r.ackMs)),
      serverCpuMs: distribution(repeats.map((r) => r.serverCpuMs)),
      emptyReconnectServerCpuMs: distribution(repeats.map((r) => r.emptyReconnectServerCpuMs)),
      cpuSource: figures.serverStart.cpuNs !== null ? 'schedstat' : 'stat',
      server: serverFigures(figures.serverStart, figures.serverEnd, rss.stop(), server.warnings()),
      generator: figures.generator,
      machine: figures.machine,
    }
  } finally {
    await server.stop()
  }
}

export const runOfflineMerge = async (options: OfflineMergeOptions, context: ScenarioContext): Promise<OfflineMergeResult> => {
  // A given server (--url) runs with its own gate setting: one variant, as configured.
  const variants = context.target.choosesGate
    ? [await runVariant(true, options, context), await runVariant(false, options, context)]
    : [await runVariant(true, options, context)]
  const on = variants.find((variant) => variant.validationGate)
  const off = variants.find((variant) => !variant.validationGate)
  const problems: string[] = []
  for (const [i, r] of (on?.repeats ?? []).entries()) {
    if (r.notices !== r.expectedNotices) problems.push(`gate on, batch ${i + 1}: ${r.notices} notices for ${r.expectedNotices} rule-breaking changes`)
  }
  if (off?.repeats.some((r) => r.notices > 0)) problems.push('gate off: the server sent notices')
  return {
    scenario: 'offline-merge',
    params: options,
    variants,
    gateCostRatio: on && off && off.serverCpuMs.p50 > 0 ? round(on.serverCpuMs.p50 / off.serverCpuMs.p50) : null,
    ok: problems.length === 0,
    problems,
  }
}
