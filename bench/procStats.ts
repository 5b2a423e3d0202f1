import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'

/**
 * CPU and memory of a process, read from Linux's /proc, so the server (a child process) is
 * measured apart from the load generator (this process).
 */

/** Kernel clock ticks per second (`getconf CLK_TCK`): the unit of utime/stime in /proc/<pid>/stat. */
export const CLOCK_TICKS_PER_SECOND: number = (() => {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100
  } catch {
    return 100 // what Linux uses on every common architecture
  }
})()

export interface ProcSnapshot {
  /** utime + stime of every thread, live or exited, in µs (resolution: one clock tick, usually 10 ms). */
  readonly cpuUs: number
  /**
   * Time on CPU of the live threads from /proc/<pid>/task/<tid>/schedstat, in ns: nanosecond
   * resolution, for windows too short for clock ticks. Null when the kernel does not offer it.
   */
  readonly cpuNs: number | null
  /**
   * The main thread's share of `cpuNs` (the thread whose id is the pid): JavaScript and the event
   * loop. The rest is V8's helper threads (optimizing compiler, concurrent GC) and libuv's pool.
   */
  readonly mainThreadNs: number | null
  /** Resident set size now (VmRSS), KiB. */
  readonly rssKiB: number
  /** Peak resident set size over the process's whole life (VmHWM), KiB. */
  readonly hwmKiB: number
  /** performance.now() of this process when read. */
  readonly at: number
}

/** Fields after the `(comm)` of /proc/<pid>/stat; comm may hold spaces and parentheses. */
const statFields = (pid: number): string[] => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
}

const statusKiB = (status: string, field: string): number => {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)
  return match ? Number(match[1]) : 0
}

const threadNs = (pid: number, tid: number | string): number => Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])

const schedstatNs = (pid: number): number | null => {
  try {
    let total = 0
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += threadNs(pid, tid)
      } catch {
        // the thread exited between readdir and read
      }
    }
    return total > 0 ? total : null
  } catch {
    return null
  }
}

const mainThreadNs = (pid: number): number | null => {
  try {
    return threadNs(pid, pid)
  } catch {
    return null
  }
}

/** Reads the process's CPU and memory now. Throws when the process is gone. */
export const readProcStats = (pid: number): ProcSnapshot => {
  const fields = statFields(pid)
  // Counting from field 3 (state) at index 0: utime is field 14, stime field 15.
  const ticks = Number(fields[11]) + Number(fields[12])
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return {
    cpuUs: (ticks * 1_000_000) / CLOCK_TICKS_PER_SECOND,
    cpuNs: schedstatNs(pid),
    mainThreadNs: mainThreadNs(pid),
    rssKiB: statusKiB(status, 'VmRSS'),
    hwmKiB: statusKiB(status, 'VmHWM'),
    at: performance.now(),
  }
}

export interface ProcUsage {
  readonly cpuMs: number
  /** Precise CPU from schedstat when available (both ends read it), else null. */
  readonly cpuMsPrecise: number | null
  /** The main thread's CPU (schedstat), ms, or null. */
  readonly mainThreadMs: number | null
  readonly wallMs: number
  /** CPU time / wall time: 1 = one core busy the whole window. */
  readonly coresUsed: number
}

export const usageBetween = (start: ProcSnapshot, end: ProcSnapshot): ProcUsage => {
  const wallMs = end.at - start.at
  const cpuMs = (end.cpuUs - start.cpuUs) / 1000
  return {
    cpuMs,
    cpuMsPrecise: start.cpuNs !== null && end.cpuNs !== null ? (end.cpuNs - start.cpuNs) / 1e6 : null,
    mainThreadMs: start.mainThreadNs !== null && end.mainThreadNs !== null ? (end.mainThreadNs - start.mainThreadNs) / 1e6 : null,
    wallMs,
    coresUsed: wallMs > 0 ? cpuMs / wallMs : 0,
  }
}

/** Samples a process's RSS while a measurement runs, for its peak (RSS moves faster than one read shows). */
export class RssSampler {
  private peakKiB = 0
  private readonly timer: NodeJS.Timeout

  constructor(
    private readonly pid: number,
    intervalMs = 200,
  ) {
    this.sample()
    this.timer = setInterval(() => this.sample(), intervalMs)
    this.timer.unref()
  }

  private sample(): void {
    try {
      this.peakKiB = Math.max(this.peakKiB, readProcStats(this.pid).rssKiB)
    } catch {
      // the process is gone; keep what was seen
    }
  }

  /** Stops sampling and returns the peak RSS seen, in KiB. */
  stop(): number {
    clearInterval(this.timer)
    this.sample()
    return this.peakKiB
  }
}

export interface GeneratorUsage {
  /** CPU this process (the load generator: every client) used, ms. */
  readonly cpuMs: number
  readonly wallMs: number
  readonly coresUsed: number
  /**
   * The generator kept a core busy (≥ 90 %): the clients, not the server, set the pace, so rates
   * are client-bound. Compare server CPU per op instead.
   */
  readonly saturated: boolean
  /** Event-loop delay of this process (p99, max), ms: how late the clients reacted to the network. */
  readonly loopDelayP99Ms: number
  readonly loopDelayMaxMs: number
}

export const SATURATION_THRESHOLD = 0.9

/** The event-loop delay histogram samples with a timer every LOOP_SAMPLE_MS; its values include that interval. */
const LOOP_SAMPLE_MS = 10
const lateBy = (histogramNs: number): number => Math.max(0, histogramNs / 1e6 - LOOP_SAMPLE_MS)

/** Measures the bench process's own CPU (process.cpuUsage) and event-loop delay over a window. */
export const startGeneratorMeter = (): { stop(): GeneratorUsage } => {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const loop = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS })
  loop.enable()
  return {
    stop: () => {
      const cpu = process.cpuUsage(cpu0)
      const wallMs = performance.now() - t0
      loop.disable()
      const cpuMs = (cpu.user + cpu.system) / 1000
      const coresUsed = wallMs > 0 ? cpuMs / wallMs : 0
      return {
        cpuMs,
        wallMs,
        coresUsed,
        saturated: coresUsed >= SATURATION_THRESHOLD,
        loopDelayP99Ms: lateBy(loop.percentile(99)),
        loopDelayMaxMs: lateBy(loop.max),
      }
    },
  }
}

/** Busy and total CPU time of the whole machine so far (first line of /proc/stat), ms. */
const readMachineCpu = (): { busyMs: number; totalMs: number } => {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? ''
    // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user)
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number)
    const toMs = (ticks: number) => (ticks * 1000) / CLOCK_TICKS_PER_SECOND
    const busy = user + nice + system + irq + softirq + steal
    return { busyMs: toMs(busy), totalMs: toMs(busy + idle + iowait) }
  } catch {
    return { busyMs: Number.NaN, totalMs: Number.NaN }
  }
}

export interface MachineUsage {
  /** Cores busy across the whole machine during the window (every process). */
  readonly busyCores: number
  /**
   * Cores busy with neither the server nor the load generator: other work on a shared machine.
   * Above ~0.3 the figures of this window are disturbed (the processes waited for a CPU).
   */
  readonly otherCores: number
}

/** Measures the whole machine's CPU over a window; `stop` subtracts the server's and the generator's share. */
export const startMachineMeter = (): { stop(serverCpuMs: number, generatorCpuMs: number): MachineUsage } => {
  const start = readMachineCpu()
  const t0 = performance.now()
  return {
    stop: (serverCpuMs, generatorCpuMs) => {
      const end = readMachineCpu()
      const wallMs = performance.now() - t0
      const busyMs = end.busyMs - start.busyMs
      return {
        busyCores: wallMs > 0 ? busyMs / wallMs : 0,
        otherCores: wallMs > 0 ? Math.max(0, busyMs - serverCpuMs - generatorCpuMs) / wallMs : 0,
      }
    },
  }
}

/**
 * Waits until a process has used no CPU (clock ticks) for `quietMs`, or `maxMs` passed: background
 * work (compaction, garbage collection, pending writes) is done. Resolves false on the deadline.
 */
export const waitForIdle = async (pid: number, { quietMs = 500, maxMs = 30_000 } = {}): Promise<boolean> => {
  const deadline = performance.now() + maxMs
  let last = readProcStats(pid).cpuUs
  let since = performance.now()
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    const now = readProcStats(pid).cpuUs
    if (now !== last) {
      last = now
      since = performance.now()
    } else if (performance.now() - since >= quietMs) {
      return true
    }
  }
  return false
}
