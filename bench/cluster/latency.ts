import { benchToken, connectBenchClient, destroyAll, type BenchClient } from '../clients.ts'
import type { BenchCluster } from './benchCluster.ts'
import { measureFirstPeer, type FirstPeerFigures, type FirstPeerOptions } from './firstPeer.ts'

/**
 * (a) First-peer latency on the owner vs on a forwarding node. One document, opened first on
 * node-1 (the node that loads a document takes its lease: node-1 owns it). Then a sender and a
 * receiver on node-1 itself, and a sender and a receiver on node-2, whose sockets node-2 forwards
 * to node-1: the difference is the node-to-node hop, twice (there and back).
 */
export interface LatencyResult {
  readonly part: 'latency'
  readonly params: FirstPeerOptions
  readonly onOwner: FirstPeerFigures
  readonly onForwardingNode: FirstPeerFigures
  readonly problems: string[]
}

export const LATENCY_DEFAULTS: FirstPeerOptions = { inserts: 500, warmup: 50, intervalMs: 20, timeoutMs: 5_000 }

export const runLatency = async (cluster: BenchCluster, options: FirstPeerOptions, runId: string, log: (line: string) => void): Promise<LatencyResult> => {
  const [owner, forwarding] = cluster.nodes
  if (!owner || !forwarding) throw new Error('latency needs two nodes')
  const room = `proposal/cluster-latency-${runId}`
  const token = await benchToken(owner.url, { user: 'latency', role: 'editor', tenant: 'bench' })
  const connect = (url: string, label: string): BenchClient => connectBenchClient({ url: url.replace('http', 'ws'), room, token, label })
  const clients: BenchClient[] = []
  const pair = async (url: string, label: string) => {
    const sender = connect(url, `${label}-sender`)
    const receiver = connect(url, `${label}-receiver`)
    clients.push(sender, receiver)
    if (!(await sender.whenSynced(30_000)) || !(await receiver.whenSynced(30_000))) throw new Error(`${label}: clients did not sync`)
    return { sender, receiver }
  }
  try {
    const anchor = connect(owner.url, 'anchor')
    clients.push(anchor)
    if (!(await anchor.whenSynced(30_000))) throw new Error('the anchor did not sync on node-1')
    log(`latency: ${options.inserts} inserts on the owner (${owner.name})`)
    const onOwnerPair = await pair(owner.url, 'owner')
    const onOwner = await measureFirstPeer(onOwnerPair.sender, [onOwnerPair.receiver], options)
    log(`latency: ${options.inserts} inserts on a forwarding node (${forwarding.name})`)
    const forwardedPair = await pair(forwarding.url, 'forwarded')
    const onForwardingNode = await measureFirstPeer(forwardedPair.sender, [forwardedPair.receiver], options)
    const problems: string[] = []
    for (const [label, figures] of [['owner', onOwner], ['forwarding node', onForwardingNode]] as const) {
      if (figures.undelivered > 0) problems.push(`latency on the ${label}: ${figures.undelivered} of ${figures.sent} inserts undelivered`)
    }
    const closes = clients.reduce((sum, client) => sum + client.serverCloses.length, 0)
    if (closes > 0) problems.push(`latency: the nodes closed ${closes} connections`)
    return { part: 'latency', params: options, onOwner, onForwardingNode, problems }
  } finally {
    destroyAll(clients)
  }
}
