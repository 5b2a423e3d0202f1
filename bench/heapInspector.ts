import WebSocket from 'ws'

/**
 * The V8 inspector of a server process started with `--inspect=127.0.0.1:0`: forced garbage
 * collection, `process.memoryUsage()` and the heap spaces, and heap snapshots summarised per object
 * type. The bench reads the server's memory this way so that no measuring hook has to live in the
 * server itself.
 */

export interface HeapFigures {
  readonly rss: number
  readonly heapUsed: number
  readonly heapTotal: number
  readonly external: number
  readonly arrayBuffers: number
  /** V8's heap spaces: what each has reserved (size) and what is live in it (used), bytes. */
  readonly spaces: Record<string, { readonly size: number; readonly used: number }>
}

/** Bytes (self size) and count per object type in one heap snapshot. */
export type TypeSummary = Map<string, { bytes: number; count: number }>

interface Pending {
  resolve(value: unknown): void
  reject(error: Error): void
}

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number }
  selfSize: number
  children: SamplingNode[]
}

interface SnapshotMeta {
  node_fields: string[]
  node_types: [string[], ...unknown[]]
}

interface Snapshot {
  snapshot: { meta: SnapshotMeta }
  nodes: number[]
  strings: string[]
}

/** The inspector's URL from the server's stderr ("Debugger listening on ws://…"), or null. */
export const inspectorUrlIn = (lines: readonly string[]): string | null => {
  for (const line of lines) {
    const match = /Debugger listening on (ws:\/\/\S+)/.exec(line)
    if (match) return match[1]!
  }
  return null
}

/**
 * Objects grouped the way DevTools' summary groups them: plain objects by constructor, the rest by
 * V8's node type (strings, code, closures, arrays…) with the name where it tells something.
 */
const groupOf = (type: string, name: string): string => {
  if (type === 'object') return name
  if (type === 'native' || type === 'hidden' || type === 'object shape') return `(${type}) ${name.slice(0, 60)}`
  return `(${type})`
}

export const summariseSnapshot = (json: string): TypeSummary => {
  const snapshot = JSON.parse(json) as Snapshot
  const fields = snapshot.snapshot.meta.node_fields
  const types = snapshot.snapshot.meta.node_types[0]
  const width = fields.length
  const typeAt = fields.indexOf('type')
  const nameAt = fields.indexOf('name')
  const sizeAt = fields.indexOf('self_size')
  const summary: TypeSummary = new Map()
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const group = groupOf(types[snapshot.nodes[i + typeAt]!]!, snapshot.strings[snapshot.nodes[i + nameAt]!]!)
    const entry = summary.get(group)
    const bytes = snapshot.nodes[i + sizeAt]!
    if (entry) {
      entry.bytes += bytes
      entry.count++
    } else summary.set(group, { bytes, count: 1 })
  }
  return summary
}

export class HeapInspector {
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private chunks: string[] = []

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string }; method?: string; params?: { chunk?: string } }
      if (message.method === 'HeapProfiler.addHeapSnapshotChunk') this.chunks.push(message.params!.chunk!)
      if (message.id === undefined) return
      const waiting = this.pending.get(message.id)
      this.pending.delete(message.id)
      if (message.error) waiting?.reject(new Error(message.error.message))
      else waiting?.resolve(message.result)
    })
  }

  static async connect(url: string): Promise<HeapInspector> {
    const socket = new WebSocket(url, { maxPayload: 1 << 30 })
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve())
      socket.once('error', reject)
    })
    return new HeapInspector(socket)
  }

  private call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.socket.send(JSON.stringify({ id, method, params }))
    })
  }

  /** A full collection, twice (the first can leave weakly held objects for the second). */
  async collectGarbage(): Promise<void> {
    await this.call('HeapProfiler.collectGarbage')
    await this.call('HeapProfiler.collectGarbage')
  }

  async figures(): Promise<HeapFigures> {
    // The inspector's command-line API has `require` also when the program is an ES module.
    const expression = `JSON.stringify({ ...process.memoryUsage(), spaces: Object.fromEntries(require('node:v8').getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }])) })`
    const result = (await this.call('Runtime.evaluate', { expression, includeCommandLineAPI: true, returnByValue: true })) as { result: { value: string } }
    return JSON.parse(result.result.value) as HeapFigures
  }

  /** A heap snapshot, summarised per type; its JSON is also passed to `keep` (to save it for DevTools). */
  async snapshot(keep?: (json: string) => void): Promise<TypeSummary> {
    this.chunks = []
    await this.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false })
    const json = this.chunks.join('')
    this.chunks = []
    keep?.(json)
    return summariseSnapshot(json)
  }

  /**
   * Starts V8's sampling heap profiler. With `collectedByMajorGC`, objects a full collection freed stay
   * in the profile (objects freed young are left out): what survived scavenges and then died, the
   * garbage that piles up in old space until the next full collection.
   */
  async startSampling(collectedByMajorGC: boolean): Promise<void> {
    await this.call('HeapProfiler.enable')
    await this.call('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: collectedByMajorGC, includeObjectsCollectedByMinorGC: false })
  }

  /** Stops sampling; bytes per allocating function (its own frame and the two below it), largest first. */
  async stopSampling(top: number): Promise<{ total: number; sites: { site: string; bytes: number }[] }> {
    const { profile } = (await this.call('HeapProfiler.stopSampling')) as { profile: { head: SamplingNode } }
    const bySite = new Map<string, number>()
    const walk: { node: SamplingNode; stack: string[] }[] = [{ node: profile.head, stack: [] }]
    while (walk.length > 0) {
      const { node, stack } = walk.pop()!
      const frame = `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${node.callFrame.lineNumber + 1}`
      const here = [frame, ...stack].slice(0, 3)
      if (node.selfSize > 0) bySite.set(here.join(' < '), (bySite.get(here.join(' < ')) ?? 0) + node.selfSize)
      for (const child of node.children) walk.push({ node: child, stack: here })
    }
    const sites = [...bySite].map(([site, bytes]) => ({ site, bytes })).sort((a, b) => b.bytes - a.bytes)
    return { total: sites.reduce((sum, { bytes }) => sum + bytes, 0), sites: sites.slice(0, top) }
  }

  close(): void {
    this.socket.close()
  }
}

/** The groups that grew most from `before` to `after`, per unit of `per` (bytes and objects). */
export const growth = (before: TypeSummary, after: TypeSummary, per: number, top: number): { group: string; bytesPer: number; countPer: number }[] =>
  [...after]
    .map(([group, { bytes, count }]) => {
      const was = before.get(group) ?? { bytes: 0, count: 0 }
      return { group, bytesPer: (bytes - was.bytes) / per, countPer: (count - was.count) / per }
    })
    .sort((a, b) => b.bytesPer - a.bytesPer)
    .slice(0, top)
