import type { GeneratorUsage, MachineUsage, ProcSnapshot } from './procStats.ts'
import type { ServerTarget } from './serverProcess.ts'
import { mib, round } from './statistics.ts'

/** What every scenario gets from the runner. */
export interface ScenarioContext {
  /** Progress for people, on stderr; the results go to stdout. */
  log(message: string): void
  /** Seed of the run's random edit sequences (printed, so a run can be replayed). */
  readonly seed: number
  /** Where the servers come from: started per scenario run, or one given with `--url`. */
  readonly target: ServerTarget
  /**
   * Unique per bench run, part of every room name, so runs against a given server (`--url`, which
   * keeps its documents) never reuse a document of an earlier run.
   */
  readonly runId: string
}

/** Server-side figures of one measured window. */
export interface ServerFigures {
  readonly cpuMs: number
  /** CPU time / wall time of the window. */
  readonly coresUsed: number
  readonly rssStartMiB: number
  readonly rssPeakMiB: number
  readonly rssEndMiB: number
  /** warn-level lines the server logged after start (closed peers, paused reads); should be empty. */
  readonly warnings: string[]
}

/** Common shape of a scenario result: `ok` is false when a correctness check failed. */
export interface ScenarioResultBase {
  readonly ok: boolean
  /** Why `ok` is false (undelivered updates, replicas that did not converge, closed clients). */
  readonly problems: string[]
}

export type { GeneratorUsage, MachineUsage }

/** Keeps the first few warnings: enough to diagnose, not a log dump in the results. */
const firstWarnings = (warnings: string[], limit = 5): string[] =>
  warnings.length <= limit ? warnings : [...warnings.slice(0, limit), `… ${warnings.length - limit} more`]

export const serverFigures = (start: ProcSnapshot, end: ProcSnapshot, rssPeakKiB: number, warnings: string[]): ServerFigures => {
  const wallMs = end.at - start.at
  const cpuMs = (end.cpuUs - start.cpuUs) / 1000
  return {
    cpuMs: round(cpuMs, 0),
    coresUsed: round(wallMs > 0 ? cpuMs / wallMs : 0),
    rssStartMiB: mib(start.rssKiB),
    rssPeakMiB: mib(Math.max(rssPeakKiB, start.rssKiB, end.rssKiB)),
    rssEndMiB: mib(end.rssKiB),
    warnings: firstWarnings(warnings),
  }
}
