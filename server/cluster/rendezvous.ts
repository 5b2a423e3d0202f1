import { createHash } from 'node:crypto'

/**
 * Rendezvous (highest random weight) hashing: every node gets a score for the key, the highest
 * score wins and the rest are the fallbacks, in order. Removing a node moves only the keys it
 * held (each to its own next-ranked node); adding one takes about 1/N of the keys from the others.
 * Every front that knows the same node list ranks a key the same way, with no shared state.
 */
export const rankNodes = <T extends string>(key: string, nodes: readonly T[]): T[] =>
  nodes
    .map((node) => ({ node, score: scoreOf(node, key) }))
    .sort((a, b) => b.score - a.score || (a.node < b.node ? -1 : 1))
    .map(({ node }) => node)

/** 48 bits of SHA-256 over node and key: uniform, the same on every machine, exact as a double. */
const scoreOf = (node: string, key: string): number =>
  createHash('sha256').update(node).update('\n').update(key).digest().readUIntBE(0, 6)
