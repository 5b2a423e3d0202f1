import { setTimeout as sleep } from 'node:timers/promises'
import { benchToken, connectBenchClient, createParagraph, destroyAll, paragraphText, type BenchClient } from '../clients.ts'
import { readProcStats, startGeneratorMeter, startMachineMeter, usageBetween } from '../procStats.ts'
import { mib, round, type Distribution } from '../statistics.ts'
import { waitUntil } from '../waitUntil.ts'
import { measureFirstPeer } from './firstPeer.ts'

/**
 * Node capacity: documents (each with two editors, one typing a character every few seconds, as a
 * quiet editing session does) are added to one server in steps; after each step a probe document's
 * first-peer latency is measured on the same server. The answer is the last step whose p99 stayed
 * within the target (100 ms) with every probe insert delivered. Run on a cluster's node-1 (`npm run
 * bench:cluster`, part d: every client connects to it, so it owns every document and pays the
 * cluster's per-document costs, the lease renewal of each loaded one) and on one embedded-LevelDB
 * server (`npm run bench:capacity`).
 */
export interface CapacityOptions {
  /** Documents on the node at each step (bounded: the run stops at the last one). */
  readonly steps: readonly number[]
  /** Connections per document. */
  readonly clientsPerDoc: number
  /** Each document's typist inserts one character every this many ms. */
  readonly typingIntervalMs: number
  readonly targetP99Ms: number
  /** New connections per second while a step is being opened. */
  readonly connectRate: number
}

export const CAPACITY_DEFAULTS: CapacityOptions = {
  steps: [100, 250, 500, 1000, 2000],
  clientsPerDoc: 2,
  typingIntervalMs: 2_000,
  targetP99Ms: 100,
  connectRate: 200,
}

/** The server measured: its WebSocket URL, HTTP URL (for tokens) and pid (for CPU and RSS). */
export interface CapacityNode {
  readonly name: string
  readonly url: string
  readonly httpUrl: string
  readonly pid: number
}

export interface CapacityStep {
  readonly documents: number
  readonly connections: number
  readonly firstPeerMs: Distribution
  /** Probe inserts that never reached the receiver. */
  readonly undelivered: number
  readonly nodeCores: number
  readonly nodeRssMiB: number
  /** The load generator's cores: near 1 means the clients, not the node, set the pace. */
  readonly generatorCores: number
  /** Cores other processes used meanwhile (a shared machine): above ~0.3 the step's latency is disturbed. */
  readonly otherCores: number
}

export interface CapacityResult {
  readonly part: 'capacity'
  readonly params: CapacityOptions
  readonly steps: CapacityStep[]
  /** The largest step within the target, or null when the first step already passed it. */
  readonly withinTarget: { documents: number; connections: number } | null
  readonly problems: string[]
}

export const runCapacity = async (node: CapacityNode, options: CapacityOptions, runId: string, log: (line: string) => void): Promise<CapacityResult> => {
  const { url } = node
  const token = await benchToken(node.httpUrl, { user: 'capacity', role: 'editor', tenant: 'bench' })
  const clients: BenchClient[] = []
  const typists: BenchClient[] = []
  const steps: CapacityStep[] = []
  let typing = true
  const typingLoop = (async () => {
    // Round-robin over the typists so the node sees a steady rate, not bursts.
    for (let i = 0; typing; i++) {
      const due = typists.length
      if (due === 0) {
        await sleep(50)
        continue
      }
      const typist = typists[i % due]!
      const text = paragraphText(typist.doc)
      if (text) text.insert(text.length, 'x')
      await sleep(Math.max(1, options.typingIntervalMs / due))
    }
  })()
  try {
    let documents = 0
    for (const target of options.steps) {
      log(`capacity: opening documents ${documents + 1}–${target} on ${node.name}`)
      for (; documents < target; documents++) {
        const room = `proposal/cluster-capacity-${runId}-${documents}`
        const docClients = Array.from({ length: options.clientsPerDoc }, (_, k) => connectBenchClient({ url, room, token, label: `${room}#${k}` }))
        clients.push(...docClients)
        await sleep((1000 * options.clientsPerDoc) / options.connectRate)
        const first = docClients[0]!
        void first.whenSynced(60_000).then((synced) => {
          if (!synced) return
          createParagraph(first.doc)
          typists.push(first)
        })
      }
      if (!(await waitUntil(() => clients.every((client) => client.provider.synced), { timeoutMs: 120_000, intervalMs: 100 }))) {
        throw new Error(`capacity: not every connection synced at ${target} documents`)
      }
      const probeRoom = `proposal/cluster-capacity-probe-${runId}-${target}`
      const sender = connectBenchClient({ url, room: probeRoom, token, label: 'probe-sender' })
      const receiver = connectBenchClient({ url, room: probeRoom, token, label: 'probe-receiver' })
      try {
        if (!(await sender.whenSynced(30_000)) || !(await receiver.whenSynced(30_000))) throw new Error('capacity: the probe did not sync')
        const start = readProcStats(node.pid)
        const generator = startGeneratorMeter()
        const machine = startMachineMeter()
        const probe = await measureFirstPeer(sender, [receiver], { inserts: 200, warmup: 20, intervalMs: 25, timeoutMs: 5_000 })
        const end = readProcStats(node.pid)
        const usage = usageBetween(start, end)
        const generatorUsage = generator.stop()
        const step: CapacityStep = {
          documents: target,
          connections: clients.length,
          firstPeerMs: probe.firstPeerMs,
          undelivered: probe.undelivered,
          nodeCores: round(usage.coresUsed),
          nodeRssMiB: mib(end.rssKiB),
          generatorCores: round(generatorUsage.coresUsed),
          otherCores: round(machine.stop(usage.cpuMs, generatorUsage.cpuMs).otherCores),
        }
        steps.push(step)
        log(
          `capacity: ${target} documents, ${clients.length} connections: first peer p50 ${step.firstPeerMs.p50} / p99 ${step.firstPeerMs.p99} ms, ` +
            `${node.name} ${step.nodeCores} cores, ${step.nodeRssMiB} MiB, generator ${step.generatorCores} cores, others ${step.otherCores} cores`,
        )
        if (!withinTarget(step, options)) break
      } finally {
        destroyAll([sender, receiver])
      }
    }
  } finally {
    typing = false
    await typingLoop
    destroyAll(clients)
  }
  const within = steps.filter((step) => withinTarget(step, options)).at(-1)
  return {
    part: 'capacity',
    params: options,
    steps,
    withinTarget: within ? { documents: within.documents, connections: within.connections } : null,
    problems: [],
  }
}

const withinTarget = (step: CapacityStep, options: CapacityOptions): boolean => step.firstPeerMs.p99 <= options.targetP99Ms && step.undelivered === 0
