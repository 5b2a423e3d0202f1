import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'
import { CollabError, ErrorCode } from '../../shared/errors.ts'

/** The header a node signs its requests to another node with: `<ms timestamp>:<mac>:<node id>`. */
export const NODE_AUTH_HEADER = 'x-posalpro-node'
/**
 * How far a signature's timestamp may be from the receiver's clock. A captured request can be
 * replayed only this long; nodes' clocks (NTP) agree far better than that.
 */
export const NODE_AUTH_WINDOW_MS = 30_000

/**
 * Node-to-node authentication: every node of a cluster holds one key, derived (HKDF-SHA256) from a
 * secret they all share — the cluster secret, or else the JWT secret (or dev-mode secret) they
 * need anyway to verify the same tokens. A request carries an HMAC-SHA256 over its timestamp, the
 * sender's node id, its method, its path and query, and the client address it vouches for: so the
 * address (which the receiver trusts for limits and the event log) cannot be swapped in a replay,
 * and a request older than the window is refused. The client's own token is not trusted because a
 * node sent it: the receiver verifies it again.
 */
export class NodeAuth {
  private constructor(
    private readonly key: Buffer,
    readonly nodeId: string,
  ) {}

  static derive(secret: Uint8Array | string, nodeId: string): NodeAuth {
    const material = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret)
    const key = Buffer.from(hkdfSync('sha256', material, 'posalpro-collab', 'node-to-node v1', 32))
    return new NodeAuth(key, nodeId)
  }

  /** The header value for a request to another node. */
  sign(method: string, path: string, clientAddress = '', now = Date.now()): string {
    return `${now}:${this.mac(now, this.nodeId, method, path, clientAddress)}:${this.nodeId}`
  }

  /** The sending node's id; throws ERR_NODE_AUTH_FAILED for a missing, forged or stale signature. */
  verify(header: string | string[] | undefined, method: string, path: string, clientAddress = '', now = Date.now()): string {
    const value = Array.isArray(header) ? header[0] : header
    const refuse = (why: string) => new CollabError(ErrorCode.NodeAuthFailed, `node-to-node request refused: ${why}`)
    if (!value || value.length > 1024) throw refuse('no signature')
    const first = value.indexOf(':')
    const second = value.indexOf(':', first + 1)
    if (first < 0 || second < 0) throw refuse('malformed signature')
    const stamp = value.slice(0, first)
    const mac = value.slice(first + 1, second)
    const nodeId = value.slice(second + 1)
    if (!/^\d{1,15}$/.test(stamp) || nodeId.length === 0) throw refuse('malformed signature')
    const at = Number(stamp)
    if (Math.abs(now - at) > NODE_AUTH_WINDOW_MS) throw refuse('signature outside its time window')
    const expected = Buffer.from(this.mac(at, nodeId, method, path, clientAddress))
    const given = Buffer.from(mac)
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw refuse('bad signature')
    return nodeId
  }

  private mac(at: number, nodeId: string, method: string, path: string, clientAddress: string): string {
    return createHmac('sha256', this.key).update(`${at}\n${nodeId}\n${method.toUpperCase()}\n${path}\n${clientAddress}`).digest('base64url')
  }
}
