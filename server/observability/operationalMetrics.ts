import { totalmem } from 'node:os'
import { getHeapStatistics } from 'node:v8'
import { Counter, Gauge, type Registry } from 'prom-client'

/**
 * What the alert rules (ops/prometheus/alerts.yml) need besides the traffic metrics: the limits
 * memory is measured against, whether the store is reachable, and integrity problems found.
 */
export class OperationalMetrics {
  readonly integrityProblems: Counter

  constructor(registry: Registry, storeHealthy: () => boolean) {
    const registers = [registry]
    // The process's memory limit: its cgroup's (systemd MemoryMax, a container limit) when it has
    // one, else the machine's memory. Node reports "no limit" as a huge number.
    const constrained = process.constrainedMemory?.() ?? 0
    const limit = constrained > 0 && constrained < totalmem() ? constrained : totalmem()
    new Gauge({ name: 'collab_memory_limit_bytes', help: "The process's memory limit (cgroup, else the machine's memory)", registers }).set(limit)
    new Gauge({ name: 'collab_heap_limit_bytes', help: "V8's heap size limit (--max-old-space-size)", registers }).set(getHeapStatistics().heap_size_limit)
    new Gauge({
      name: 'collab_store_healthy',
      help: 'The store answers (0: PostgreSQL unreachable, or the LevelDB store closed): /readyz fails meanwhile',
      registers,
      collect() {
        this.set(storeHealthy() ? 1 : 0)
      },
    })
    this.integrityProblems = new Counter({
      name: 'collab_integrity_problems_total',
      help: 'Documents a verification (admin verify) found a problem in: damaged updates, an event log that does not rebuild the state, invalid fields',
      registers,
    })
  }
}
