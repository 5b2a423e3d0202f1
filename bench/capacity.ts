/**
 * `npm run bench:capacity`: how many documents and connections one node holds before its first-peer
 * latency p99 passes 100 ms. One server process (embedded LevelDB, validation gate on, started
 * fresh as every bench server is), documents added in steps (each with `--clients-per-doc` stock
 * providers, one of them typing a character every `--typing-interval-ms`, as a quiet editing
 * session does); at each step, with that typing going on, a probe document's first-peer latency
 * is measured (200 inserts, one every 25 ms), with the server's RSS and CPU over the probe. It
 * stops at the first step whose p99 passes the target, or at the last step (bounded by
 * `--max-connections`).
 *
 *   npm run bench:capacity -- [--steps 250,500,1000,2000] [--clients-per-doc 2]
 *                             [--typing-interval-ms 2000] [--target-p99-ms 100] [--connect-rate 200]
 *                             [--max-connections 4000] [--json]
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { benchToken, connectBenchClient, createParagraph, destroyAll, paragraphText, type BenchClient } from './clients.ts'
import { measureFirstPeer } from './cluster/firstPeer.ts'
import { readProcStats, startGeneratorMeter, startMachineMeter, usageBetween } from './procStats.ts'
import { killRunningServers, startBenchServer } from './serverProcess.ts'
import { mib, round, type Distribution } from './statistics.ts'
import { waitUntil } from './waitUntil.ts'

interface Options {
  readonly steps: readonly number[]
  readonly clientsPerDoc: number
  readonly typingIntervalMs: number
  readonly targetP99Ms: number
  readonly connectRate: number
  readonly maxConnections: number
}

interface Step {
  readonly documents: number
  readonly connections: number
  readonly firstPeerMs: Distribution
  readonly undelivered: number
  /** Server CPU over the probe, in cores (1 = one core busy). */
  readonly serverCores: number
  readonly serverRssMiB: number
  /** The load generator's cores: near 1, the clients set the pace, not the server. */
  readonly generatorCores: number
  /** Cores other processes used meanwhile (a shared machine): above ~0.3 the step's latency is disturbed. */
  readonly otherCores: number
}

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '250,500,1000,2000' },
    'clients-per-doc': { type: 'string', default: '2' },
    'typing-interval-ms': { type: 'string', default: '2000' },
    'target-p99-ms': { type: 'string', default: '100' },
    'connect-rate': { type: 'string', default: '200' },
    'max-connections': { type: 'string', default: '4000' },
    json: { type: 'boolean', default: false },
  },
})

const positive = (name: string, text: string): number => {
  const value = Number(text)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got ${text}`)
  return value
}

const options: Options = {
  steps: values.steps.split(',').map((step) => Math.floor(positive('steps', step))),
  clientsPerDoc: Math.floor(positive('clients-per-doc', values['clients-per-doc'])),
  typingIntervalMs: positive('typing-interval-ms', values['typing-interval-ms']),
  targetP99Ms: positive('target-p99-ms', values['target-p99-ms']),
  connectRate: positive('connect-rate', values['connect-rate']),
  maxConnections: Math.floor(positive('max-connections', values['max-connections'])),
}
const log = (line: string) => process.stderr.write(`${line}\n`)

const run = async (): Promise<{ steps: Step[]; withinTarget: { documents: number; connections: number } | null }> => {
  const server = await startBenchServer({ validationGate: true })
  const token = await benchToken(server.httpUrl, { user: 'capacity', role: 'editor', tenant: 'bench' })
  const clients: BenchClient[] = []
  const typists: BenchClient[] = []
  const steps: Step[] = []
  let typing = true
  const typingLoop = (async () => {
    // Round-robin over the typists: the server sees a steady rate, not bursts.
    for (let i = 0; typing; i++) {
      const due = typists.length
      if (due === 0) {
        await sleep(50)
        continue
      }
      const text = paragraphText(typists[i % due]!.doc)
      if (text) text.insert(text.length, 'x')
      await sleep(Math.max(1, options.typingIntervalMs / due))
    }
  })()
  try {
    let documents = 0
    for (const target of options.steps) {
      if (target * options.clientsPerDoc > options.maxConnections) break
      log(`capacity: opening documents ${documents + 1}–${target}`)
      for (; documents < target; documents++) {
        const room = `proposal/capacity-${documents}`
        const docClients = Array.from({ length: options.clientsPerDoc }, (_, k) => connectBenchClient({ url: server.url, room, token, label: `${room}#${k}` }))
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
      const sender = connectBenchClient({ url: server.url, room: `proposal/capacity-probe-${target}`, token, label: 'probe-sender' })
      const receiver = connectBenchClient({ url: server.url, room: `proposal/capacity-probe-${target}`, token, label: 'probe-receiver' })
      try {
        if (!(await sender.whenSynced(30_000)) || !(await receiver.whenSynced(30_000))) throw new Error('capacity: the probe did not sync')
        const start = readProcStats(server.pid)
        const generator = startGeneratorMeter()
        const machine = startMachineMeter()
        const probe = await measureFirstPeer(sender, [receiver], { inserts: 200, warmup: 20, intervalMs: 25, timeoutMs: 5_000 })
        const end = readProcStats(server.pid)
        const generatorUsage = generator.stop()
        const usage = usageBetween(start, end)
        const step: Step = {
          documents: target,
          connections: clients.length,
          firstPeerMs: probe.firstPeerMs,
          undelivered: probe.undelivered,
          serverCores: round(usage.coresUsed),
          serverRssMiB: mib(end.rssKiB),
          generatorCores: round(generatorUsage.coresUsed),
          otherCores: round(machine.stop(usage.cpuMs, generatorUsage.cpuMs).otherCores),
        }
        steps.push(step)
        const { p50, p99 } = step.firstPeerMs
        log(
          `capacity: ${target} documents, ${step.connections} connections: first peer p50 ${p50} / p99 ${p99} ms, ` +
            `server ${step.serverCores} cores, ${step.serverRssMiB} MiB RSS, generator ${step.generatorCores} cores, others ${step.otherCores} cores`,
        )
        if (!(p99 <= options.targetP99Ms) || step.undelivered > 0) break
      } finally {
        destroyAll([sender, receiver])
      }
    }
  } finally {
    typing = false
    await typingLoop
    destroyAll(clients)
    await server.stop()
  }
  const within = steps.filter((step) => step.firstPeerMs.p99 <= options.targetP99Ms && step.undelivered === 0).at(-1)
  return { steps, withinTarget: within ? { documents: within.documents, connections: within.connections } : null }
}

process.on('exit', killRunningServers)
const result = await run()
if (values.json) {
  process.stdout.write(`${JSON.stringify({ params: options, ...result }, null, 2)}\n`)
} else {
  process.stdout.write('| documents | connections | first peer p50 / p99 ms | server cores | server RSS MiB | generator cores | others cores |\n|---|---|---|---|---|---|---|\n')
  for (const step of result.steps) {
    process.stdout.write(
      `| ${step.documents} | ${step.connections} | ${step.firstPeerMs.p50} / ${step.firstPeerMs.p99} | ${step.serverCores} | ${step.serverRssMiB} | ${step.generatorCores} | ${step.otherCores} |\n`,
    )
  }
  const { withinTarget } = result
  process.stdout.write(
    withinTarget
      ? `within p99 ≤ ${options.targetP99Ms} ms: ${withinTarget.documents} documents, ${withinTarget.connections} connections\n`
      : `the first step already passed p99 ${options.targetP99Ms} ms\n`,
  )
}
