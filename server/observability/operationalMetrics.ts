import { totalmem } from 'node:os'
import { getHeapStatistics } from 'node:v8'
import { Gauge, type Registry } from 'prom-client'

/**
 * What the alert rules (ops/prometheus/alerts.yml) need besides the traffic metrics: the limits
 * memory is measured against and whether the store is reachable.
 */
export class OperationalMetrics {
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
  }
}
