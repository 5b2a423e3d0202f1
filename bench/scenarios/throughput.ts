import type { ScenarioContext, ScenarioResultBase } from '../scenario.ts'
import { runTypingLoad, typingLoadProblems, type TypingLoadOptions, type TypingRun } from '../typingWorkload.ts'

/**
 * `throughput`: how much the production write path costs per op under sustained load. D proposals
 * (20) × K editors (5) type into the rich-text body as fast as the flow-control window lets them
 * for T seconds (10), against a server with the validation gate on and every accepted update made
 * durable in LevelDB before it is broadcast (the production setting). The key figure is server
 * CPU µs per op (until every doc converged); ops/s is often the load generator's limit on a 2-core
 * machine (the table says when). Every doc's replicas must converge.
 */

export type ThroughputOptions = TypingLoadOptions

export const THROUGHPUT_DEFAULTS: ThroughputOptions = {
  docs: 20,
  clientsPerDoc: 5,
  durationSec: 10,
  warmupSec: 1,
  window: 100,
  titleEvery: 25,
  settleTimeoutMs: 30_000,
}

export interface ThroughputResult extends ScenarioResultBase, TypingRun {
  readonly scenario: 'throughput'
  readonly params: ThroughputOptions
  readonly validationGate: boolean
}

export const runThroughput = async (options: ThroughputOptions, context: ScenarioContext): Promise<ThroughputResult> => {
  const server = await context.target.start({ validationGate: true })
  try {
    const run = await runTypingLoad(server, options, {
      label: 'throughput',
      roomPrefix: `proposal/tp-${context.runId}`,
      seed: context.seed,
      log: context.log,
    })
    const problems = typingLoadProblems(run, 'throughput')
    return { scenario: 'throughput', params: options, validationGate: server.validationGate, ...run, ok: problems.length === 0, problems }
  } finally {
    await server.stop()
  }
}
