import type { RestartResult } from './scenarios/restart.ts'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { CLOCK_TICKS_PER_SECOND, SATURATION_THRESHOLD, type GeneratorUsage } from './procStats.ts'
import type { ColdloadResult } from './scenarios/coldload.ts'
import type { ConnectionsResult } from './scenarios/connections.ts'
import type { FanoutResult } from './scenarios/fanout.ts'
import type { GateResult } from './scenarios/gate.ts'
import type { OfflineMergeResult } from './scenarios/offlineMerge.ts'
import type { ThroughputResult } from './scenarios/throughput.ts'
import type { Distribution } from './statistics.ts'

/** The bench's output: a table for people, one JSON object for programs (also written to a file). */

export type ScenarioResult = FanoutResult | ThroughputResult | ColdloadResult | ConnectionsResult | RestartResult | OfflineMergeResult | GateResult
export type ScenarioName = ScenarioResult['scenario']

export interface ScenarioFailure {
  readonly scenario: ScenarioName
  readonly error: string
}

export interface MachineFacts {
  readonly nproc: number
  readonly cpuModel: string
  readonly node: string
  readonly platform: string
  readonly clockTicksPerSecond: number
  readonly totalMemoryMiB: number
}

export interface BenchReport {
  readonly startedAt: string
  readonly durationSec: number
  readonly machine: MachineFacts
  /** How the server under measurement was run. */
  readonly server: string
  readonly versions: Record<string, string>
  readonly seed: number
  readonly results: ScenarioResult[]
  readonly failures: ScenarioFailure[]
  /** Every scenario ran and every correctness check held. */
  readonly ok: boolean
}

export const machineFacts = (): MachineFacts => {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown'
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    if (match?.[1]) cpuModel = match[1].trim()
  } catch {
    // not Linux: keep os.cpus()
  }
  return {
    nproc: os.availableParallelism(),
    cpuModel,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    clockTicksPerSecond: CLOCK_TICKS_PER_SECOND,
    totalMemoryMiB: Math.round(os.totalmem() / 1024 / 1024),
  }
}

/** Installed versions of the packages whose code is on the measured path. */
export const packageVersions = (root: string): Record<string, string> => {
  const versions: Record<string, string> = {}
  for (const name of ['yjs', 'y-protocols', 'y-websocket', 'y-leveldb', 'ws', 'zod', 'lib0']) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version?: string }
      if (pkg.version) versions[name] = pkg.version
    } catch {
      // not installed
    }
  }
  return versions
}

const renderTable = (headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string => {
  const cells = [headers, ...rows].map((row) => row.map(String))
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => row[i]?.length ?? 0)))
  const line = (row: readonly string[]) => `| ${row.map((cell, i) => cell.padStart(widths[i]!)).join(' | ')} |`
  return [line(cells[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n')
}

const spread = (d: Distribution): string => `${d.p50} / ${d.p95} / ${d.p99} / ${d.max}`
const onOff = (gate: boolean): string => (gate ? 'on' : 'off')

/** Which side set the pace: a process that kept its core busy, or neither (latency, I/O, a shared machine). */
const boundBy = (serverCores: number, generator: GeneratorUsage): string =>
  generator.saturated ? 'CLIENT' : serverCores >= SATURATION_THRESHOLD ? 'server' : 'neither'

/** Other processes kept this much of the machine busy: the figures are disturbed. */
const OTHER_LOAD_NOTICEABLE = 0.3

const otherLoadNote = (otherCores: readonly number[]): string[] => {
  const worst = Math.max(0, ...otherCores)
  return worst >= OTHER_LOAD_NOTICEABLE
    ? [`note: other processes kept up to ${worst} cores of the machine busy during this scenario (column "others"): its figures are disturbed; rerun on a quiet machine to compare.`]
    : []
}

const gateSection = (result: GateResult): string => {
  const p = result.params
  const rows = result.runs.map((run) => [
    onOff(run.validationGate),
    run.round,
    run.opsSent,
    run.opsPerSec,
    run.serverCpuUsPerOp,
    run.serverCoresDuringLoad,
    run.server.rssPeakMiB,
    run.generator.coresUsed,
    run.machine.otherCores,
    boundBy(run.serverCoresDuringLoad, run.generator),
    run.flowControlPauses,
    `${run.convergedDocs}/${run.docs}`,
    run.settleMs,
  ])
  const lines = [
    `gate — ${p.docs} proposals × ${p.clientsPerDoc} editors, ${p.durationSec} s measured after ${p.warmupSec} s warm-up, window ${p.window}, 1 op in ${p.titleEvery} retitles, ${p.rounds} round${p.rounds === 1 ? '' : 's'} per setting`,
    renderTable(
      ['gate', 'round', 'ops sent', 'ops/s', 'srv µs/op', 'srv cores', 'srv RSS peak MiB', 'gen cores', 'others', 'bound by', 'pauses', 'converged', 'settle ms'],
      rows,
    ),
    ...result.summary.map(
      (s) => `median gate ${onOff(s.validationGate)}: ${s.serverCpuUsPerOp} µs/op server CPU, ${s.opsPerSec} ops/s`,
    ),
    `gate cost (median server CPU per op, on ÷ off): ${result.gateCostRatio ?? 'n/a'}×`,
  ]
  if (result.runs.some((run) => run.generator.saturated)) {
    lines.push(
      `note: in runs bound by CLIENT the load generator used ≥ ${SATURATION_THRESHOLD * 100} % of a core: ops/s is client-bound; compare srv µs/op.`,
    )
  }
  lines.push(...otherLoadNote(result.runs.map((run) => run.machine.otherCores)))
  return lines.join('\n')
}

const offlineSection = (result: OfflineMergeResult): string => {
  const p = result.params
  const rows = result.variants.map((v) => [
    onOff(v.validationGate),
    Math.round(v.repeats.reduce((sum, r) => sum + r.batchBytes, 0) / Math.max(1, v.repeats.length)),
    `${v.ackMs.p50} / ${v.ackMs.max}`,
    `${v.serverCpuMs.p50} / ${v.serverCpuMs.max}`,
    `${v.emptyReconnectServerCpuMs.p50} / ${v.emptyReconnectServerCpuMs.max}`,
    v.validationGate
      ? `${v.repeats.reduce((sum, r) => sum + r.notices, 0)}/${v.repeats.reduce((sum, r) => sum + r.expectedNotices, 0)}`
      : v.repeats.reduce((sum, r) => sum + r.notices, 0),
    v.server.rssPeakMiB,
    v.machine.otherCores,
  ])
  const source = result.variants[0]?.cpuSource === 'schedstat' ? 'schedstat (ns)' : `clock ticks (${1000 / CLOCK_TICKS_PER_SECOND} ms)`
  return [
    `offline-merge — ${p.changes} offline changes (${p.invalid} rule-breaking) by a manager, reconnect until acked, ${p.repeats} repeats; server CPU from ${source}`,
    renderTable(
      ['gate', 'batch bytes', 'ack ms p50 / max', 'srv CPU ms p50 / max', 'empty reconnect srv ms p50 / max', 'notices (/ expected)', 'srv RSS peak MiB', 'others'],
      rows,
    ),
    `gate cost (server CPU per batch, p50 on ÷ off): ${result.gateCostRatio ?? 'n/a'}×`,
    ...otherLoadNote(result.variants.map((v) => v.machine.otherCores)),
  ].join('\n')
}

const fanoutSection = (result: FanoutResult): string => {
  const p = result.params
  return [
    `fanout — ${p.clients} editors on one proposal, one insert every ${p.intervalMs} ms round-robin, ${p.updates} measured (+${p.warmup} warm-up), gate on`,
    renderTable(
      ['to', 'p50 / p95 / p99 / max ms', 'undelivered', 'srv µs/insert', 'srv cores', 'gen cores', 'gen loop delay p99 ms', 'others'],
      [
        ['first peer', spread(result.firstPeerMs), result.undelivered, result.serverCpuUsPerUpdate, result.server.coresUsed, result.generator.coresUsed, result.generator.loopDelayP99Ms, result.machine.otherCores],
        ['all peers', spread(result.allPeersMs), '', '', '', '', '', ''],
      ],
    ),
    ...otherLoadNote([result.machine.otherCores]),
  ].join('\n')
}

const throughputSection = (result: ThroughputResult): string => {
  const p = result.params
  const lines = [
    `throughput — ${p.docs} proposals × ${p.clientsPerDoc} editors typing as fast as a window of ${p.window} allows, ${p.durationSec} s measured after ${p.warmupSec} s warm-up, 1 op in ${p.titleEvery} retitles, gate ${onOff(result.validationGate)}, every update durable before broadcast`,
    renderTable(
      ['ops sent', 'ops/s', 'delivered ops/s', 'srv µs/op', 'srv cores', 'srv RSS peak MiB', 'gen cores', 'others', 'bound by', 'pauses', 'converged', 'settle ms'],
      [
        [
          result.opsSent,
          result.opsPerSec,
          result.deliveredOpsPerSec,
          result.serverCpuUsPerOp,
          result.serverCoresDuringLoad,
          result.server.rssPeakMiB,
          result.generator.coresUsed,
          result.machine.otherCores,
          boundBy(result.serverCoresDuringLoad, result.generator),
          result.flowControlPauses,
          `${result.convergedDocs}/${result.docs}`,
          result.settleMs,
        ],
      ],
    ),
  ]
  if (result.generator.saturated) {
    lines.push(`note: bound by CLIENT: the load generator used ≥ ${SATURATION_THRESHOLD * 100} % of a core, so ops/s is the clients' limit; compare srv µs/op.`)
  }
  lines.push(...otherLoadNote([result.machine.otherCores]))
  return lines.join('\n')
}

const coldloadSection = (result: ColdloadResult): string => {
  const p = result.params
  const rows = result.loads.map((load, i) => [
    i + 1,
    load.restarted ? 'restart' : 'unload wait',
    load.syncedMs,
    load.fullContentMs ?? 'never',
    load.contentAtSynced ? 'yes' : 'NO',
    load.contentOk ? 'yes' : 'NO',
    load.serverCpuMs,
    load.serverRssAfterMiB,
    load.generator.coresUsed,
    load.machine.otherCores,
  ])
  return [
    `coldload — ${p.updates} inserts (one update message each) into one proposal body (${result.docChars} chars, state ${result.stateBytes} B), written and acked durable in ${result.writeAndAckMs} ms; loads by a fresh client, each after ${result.loads.every((load) => load.restarted) ? 'a server restart' : 'waiting for the server to unload the doc'}`,
    renderTable(['load', 'cold by', 'synced ms', 'full content ms', 'content at synced', 'content ok', 'srv CPU ms', 'srv RSS MiB', 'gen cores', 'others'], rows),
    `median: synced ${result.syncedMs.p50} ms, full content ${result.fullContentMs.p50} ms`,
    ...otherLoadNote(result.loads.map((load) => load.machine.otherCores)),
  ].join('\n')
}

const connectionsSection = (result: ConnectionsResult): string => {
  const p = result.params
  const lines = [
    `connections — ${p.connections} idle stock providers at ${p.ratePerSec}/s, ${p.spread === 'distinct' ? 'each on its own new proposal' : 'all on one proposal'} (the first client of a doc creates its paragraph), held ${p.holdMs} ms`,
    renderTable(
      ['connected', 'open s', 'connect ms p50 / p95 / p99 / max', 'srv RSS before → after MiB', 'srv KiB/conn', 'srv µs CPU/conn', 'of it main thread', 'gen cores', 'others'],
      [
        [
          `${result.connected}/${p.connections}`,
          result.openSec,
          spread(result.connectMs),
          `${result.serverRssBeforeMiB} → ${result.serverRssAfterMiB}`,
          result.serverKiBPerConnection,
          result.serverCpuUsPerConnection,
          result.storms[0]?.mainThreadUsPerConnection ?? '—',
          result.generator.coresUsed,
          result.machine.otherCores,
        ],
      ],
    ),
  ]
  if (result.storms.length > 1) {
    lines.push(
      'the same storm repeated on the same server process (new documents each time; storm 1: a fresh process)',
      renderTable(
        ['storm', 'connected', 'connect ms p50 / p95 / p99 / max', 'srv µs CPU/conn', 'main thread', 'other threads', 'others'],
        result.storms.map((storm, index) => [
          index + 1,
          `${storm.connected}/${p.connections}`,
          spread(storm.connectMs),
          storm.serverCpuUsPerConnection,
          storm.mainThreadUsPerConnection ?? '—',
          storm.mainThreadUsPerConnection === null ? '—' : storm.serverCpuUsPerConnection - storm.mainThreadUsPerConnection,
          storm.otherCores,
        ]),
      ),
    )
  }
  lines.push(...otherLoadNote(result.storms.map((storm) => storm.otherCores)))
  return lines.join('\n')
}

const restartSection = (result: RestartResult): string => {
  const p = result.params
  const rows = result.rounds.map((round) => [
    round.signal,
    round.downMs,
    `${round.resynced}/${p.docs * p.clientsPerDoc}`,
    spread(round.resyncMs),
    round.allSyncedMs ?? 'never',
    `${round.intactDocs}/${p.docs}`,
    round.server.cpuMs,
  ])
  return [
    `restart — ${p.docs} docs × ${p.clientsPerDoc} connected stock clients, ${p.updatesPerDoc} inserts per doc; the server stopped and started again on its port and data dir; clients reconnect with their own backoff; times from the new process listening`,
    renderTable(['stop', 'down ms', 'resynced', 'resync ms p50 / p95 / p99 / max', 'all synced ms', 'docs intact', 'srv CPU ms'], rows),
  ].join('\n')
}

const section = (result: ScenarioResult): string => {
  switch (result.scenario) {
    case 'gate':
      return gateSection(result)
    case 'offline-merge':
      return offlineSection(result)
    case 'fanout':
      return fanoutSection(result)
    case 'throughput':
      return throughputSection(result)
    case 'coldload':
      return coldloadSection(result)
    case 'connections':
      return connectionsSection(result)
    case 'restart':
      return restartSection(result)
  }
}

export const renderReport = (report: BenchReport): string => {
  const m = report.machine
  const lines = [
    `PosalPro Collab bench — ${report.startedAt}, ${report.durationSec} s, seed ${report.seed}`,
    `machine: ${m.nproc} cores (${m.cpuModel}), ${m.totalMemoryMiB} MiB, node ${m.node}, ${m.platform}, CLK_TCK ${m.clockTicksPerSecond}`,
    `server: ${report.server}`,
    '',
  ]
  for (const result of report.results) {
    lines.push(section(result))
    for (const problem of result.problems) lines.push(`CHECK FAILED: ${problem}`)
    lines.push('')
  }
  for (const failure of report.failures) lines.push(`ERROR in ${failure.scenario}: ${failure.error}`, '')
  lines.push(report.ok ? 'all checks passed' : 'SOME CHECKS FAILED')
  return lines.join('\n')
}

/** Writes the report as `<dir>/<timestamp>.json` and returns the path. */
export const writeReport = (report: BenchReport, dir: string): string => {
  mkdirSync(dir, { recursive: true })
  const file = path.join(dir, `${report.startedAt.replace(/[:.]/g, '-')}.json`)
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`)
  return file
}
