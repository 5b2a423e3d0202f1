/**
 * Writes (and their bytes) durable in the write-ahead log whose LevelDB write has not completed:
 * what grows when LevelDB falls behind, held in memory until it catches up. Counts as full from
 * `maxWrites` writes or `maxBytes` bytes (rooms then stop reading from their sockets), and tells
 * its listeners once it has drained to half of both.
 */
export class WriteBacklog {
  private writes = 0
  private bytes = 0
  /** Called once when the backlog, after being full, has drained to half its limits. */
  private readonly drainListeners = new Set<() => void>()

  constructor(
    private readonly maxWrites: number,
    private readonly maxBytes: number,
  ) {}

  get counts(): { readonly writes: number; readonly bytes: number } {
    return { writes: this.writes, bytes: this.bytes }
  }

  get full(): boolean {
    return this.writes >= this.maxWrites || this.bytes >= this.maxBytes
  }

  /** A write of `bytes` is durable in the log, on its way to LevelDB. */
  added(bytes: number): void {
    this.writes++
    this.bytes += bytes
  }

  /** A write of `bytes` reached LevelDB. */
  left(bytes: number): void {
    this.writes--
    this.bytes -= bytes
    if (this.drainListeners.size === 0) return
    if (this.writes > this.maxWrites / 2 || this.bytes > this.maxBytes / 2) return
    this.notifyDrained()
  }

  /**
   * Calls `listener` once the backlog has drained to half its limits (hysteresis: a room that
   * resumes at once would pause again at the next write). Returns a function that cancels it.
   */
  whenDrains(listener: () => void): () => void {
    this.drainListeners.add(listener)
    return () => this.drainListeners.delete(listener)
  }

  /** Calls every listener now (drained, or it never will: LevelDB refused a write). */
  notifyDrained(): void {
    const listeners = [...this.drainListeners]
    this.drainListeners.clear()
    for (const listener of listeners) listener()
  }
}
