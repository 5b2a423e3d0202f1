import type { ScenarioContext, ScenarioResultBase } from '../scenario.ts'
import { round } from '../statistics.ts'
import { runTypingLoad, typingLoadProblems, type TypingLoadOptions, type TypingRun } from '../typingWorkload.ts'

/**
 * `gate`: what the semantic validation gate costs the server. The same typing workload
 * (typingWorkload.ts) runs against a server with COLLAB_VALIDATION_GATE=true and one with false,
 * R rounds (alternating which goes first, so neither always gets the cooler machine): D proposal
 * docs × K editors typing into the rich-text body as fast as they can, now and then setting
 * the title (a splice of its text root), for T seconds. The key figure is server CPU µs per op; the ratio of the medians
 * gate-on / gate-off is the gate's cost.
 */

export interface GateOptions extends TypingLoadOptions {
  /** Runs per gate setting (on/off alternate which goes first). */
  readonly rounds: number
}

export const GATE_DEFAULTS: GateOptions = {
  docs: 10,
  clientsPerDoc: 5,
  durationSec: 8,
  warmupSec: 1,
  window: 100,
  titleEvery: 25,
  settleTimeoutMs: 30_000,
  rounds: 3,
}

export interface GateRun extends TypingRun {
  readonly validationGate: boolean
  readonly round: number
}

/** The medians over the rounds of one gate setting. */
export interface GateSummary {
  readonly validationGate: boolean
  readonly serverCpuUsPerOp: number
  readonly opsPerSec: number
}

export interface GateResult extends ScenarioResultBase {
  readonly scenario: 'gate'
  readonly params: GateOptions
  readonly runs: GateRun[]
  readonly summary: GateSummary[]
  /** Median server CPU µs per op with the gate on ÷ with it off. */
  readonly gateCostRatio: number | null
}

const onOff = (gate: boolean): string => (gate ? 'on' : 'off')

const runOnce = async (validationGate: boolean, roundNumber: number, options: GateOptions, context: ScenarioContext): Promise<GateRun> => {
  const server = await context.target.start({ validationGate })
  try {
    const run = await runTypingLoad(server, options, {
      label: `gate=${onOff(validationGate)} round ${roundNumber}`,
      roomPrefix: `proposal/gate-${context.runId}-${onOff(validationGate)}${roundNumber}`,
      seed: context.seed + roundNumber * 100_000,
      log: context.log,
    })
    return { ...run, validationGate, round: roundNumber }
  } finally {
    await server.stop()
  }
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const summarize = (runs: readonly GateRun[], validationGate: boolean): GateSummary => {
  const mine = runs.filter((run) => run.validationGate === validationGate)
  return {
    validationGate,
    serverCpuUsPerOp: round(median(mine.map((run) => run.serverCpuUsPerOp)), 1),
    opsPerSec: round(median(mine.map((run) => run.opsPerSec)), 0),
  }
}

export const runGate = async (options: GateOptions, context: ScenarioContext): Promise<GateResult> => {
  if (!context.target.choosesGate) throw new Error('the gate scenario needs a server per gate setting: it runs only against servers the bench starts (not --url)')
  const runs: GateRun[] = []
  for (let r = 1; r <= options.rounds; r++) {
    for (const validationGate of r % 2 === 1 ? [true, false] : [false, true]) {
      runs.push(await runOnce(validationGate, r, options, context))
    }
  }
  const problems = runs.flatMap((run) => typingLoadProblems(run, `gate ${onOff(run.validationGate)} round ${run.round}`))
  const on = summarize(runs, true)
  const off = summarize(runs, false)
  return {
    scenario: 'gate',
    params: options,
    runs,
    summary: [on, off],
    gateCostRatio: off.serverCpuUsPerOp > 0 ? round(on.serverCpuUsPerOp / off.serverCpuUsPerOp) : null,
    ok: problems.length === 0,
    problems,
  }
}
