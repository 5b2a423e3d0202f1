import { readdirSync, readFileSync } from 'node:fs'
import { CLOCK_TICKS_PER_SECOND } from '../procStats.ts'

/**
 * CPU of a process and everything below it, in µs: PostgreSQL does its work in one backend
 * process per connection, children of the postmaster. Exited children count through the
 * postmaster's cutime/cstime once it has reaped them.
 */
export const treeCpuUs = (root: number): number => {
  const stats = new Map<number, string[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      stats.set(Number(entry), stat.slice(stat.lastIndexOf(')') + 2).split(' '))
    } catch {
      // exited meanwhile
    }
  }
  // Fields counted from `state` at index 0: ppid 1, utime 11, stime 12, cutime 13, cstime 14.
  let ticks = 0
  const rootFields = stats.get(root)
  if (rootFields) ticks += Number(rootFields[13]) + Number(rootFields[14])
  const queue = [root]
  while (queue.length > 0) {
    const pid = queue.shift()!
    const fields = stats.get(pid)
    if (fields) ticks += Number(fields[11]) + Number(fields[12])
    for (const [child, childFields] of stats) if (Number(childFields[1]) === pid) queue.push(child)
  }
  return (ticks * 1_000_000) / CLOCK_TICKS_PER_SECOND
}
