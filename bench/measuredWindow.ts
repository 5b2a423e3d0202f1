import {
  readProcStats,
  startGeneratorMeter,
  startMachineMeter,
  usageBetween,
  type GeneratorUsage,
  type MachineUsage,
  type ProcSnapshot,
  type ProcUsage,
} from './procStats.ts'
import { round } from './statistics.ts'

/**
 * One measured stretch of a scenario: the server's CPU (its process), the load generator's CPU
 * (this process) and the rest of the machine's, over the same wall-clock window.
 */
export interface WindowFigures {
  readonly server: ProcUsage
  readonly serverStart: ProcSnapshot
  readonly serverEnd: ProcSnapshot
  readonly generator: GeneratorUsage
  readonly machine: MachineUsage
}

export interface MeasuredWindow {
  readonly serverStart: ProcSnapshot
  close(): WindowFigures
}

export const openWindow = (serverPid: number): MeasuredWindow => {
  const machine = startMachineMeter()
  const generator = startGeneratorMeter()
  const serverStart = readProcStats(serverPid)
  return {
    serverStart,
    close: () => {
      const serverEnd = readProcStats(serverPid)
      const generatorUsage = generator.stop()
      const server = usageBetween(serverStart, serverEnd)
      const machineUsage = machine.stop(server.cpuMs, generatorUsage.cpuMs)
      return {
        server,
        serverStart,
        serverEnd,
        generator: {
          ...generatorUsage,
          cpuMs: round(generatorUsage.cpuMs, 0),
          wallMs: round(generatorUsage.wallMs, 0),
          coresUsed: round(generatorUsage.coresUsed),
          loopDelayP99Ms: round(generatorUsage.loopDelayP99Ms, 1),
          loopDelayMaxMs: round(generatorUsage.loopDelayMaxMs, 1),
        },
        machine: { busyCores: round(machineUsage.busyCores), otherCores: round(machineUsage.otherCores) },
      }
    },
  }
}
