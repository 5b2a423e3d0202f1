/**
 * Which nodes the front believes are up. A node is down from a refused or timed-out connection or
 * a failed `/healthz` probe, and up again from the next probe it answers with 200. The periodic
 * probe is what brings a node back: the front stops sending it traffic while it is down.
 */
export interface NodeHealth {
  isUp(node: string): boolean
  markDown(node: string): void
  /** Probes every node once now (tests call it instead of waiting for the interval). */
  probeAll(): Promise<void>
  stop(): void
}

export const watchNodeHealth = (
  nodes: readonly string[],
  {
    intervalMs,
    timeoutMs,
    onChange = () => {},
  }: { intervalMs: number; timeoutMs: number; onChange?: (node: string, up: boolean) => void },
): NodeHealth => {
  // Optimistic at start: a front started together with its nodes must not refuse the first
  // clients while the first probe is under way; a refused connect marks a node down at once.
  const up = new Map(nodes.map((node) => [node, true]))
  const set = (node: string, value: boolean) => {
    if (up.get(node) === value) return
    up.set(node, value)
    onChange(node, value)
  }
  const probe = async (node: string) => {
    try {
      const response = await fetch(new URL('/healthz', node), { signal: AbortSignal.timeout(timeoutMs) })
      await response.body?.cancel()
      set(node, response.ok)
    } catch {
      set(node, false)
    }
  }
  let probing: Promise<void> | null = null
  const probeAll = () => (probing ??= Promise.all(nodes.map(probe)).then(() => void (probing = null)))
  const timer = setInterval(() => void probeAll(), intervalMs)
  timer.unref()
  return {
    isUp: (node) => up.get(node) ?? false,
    markDown: (node) => set(node, false),
    probeAll,
    stop: () => clearInterval(timer),
  }
}
