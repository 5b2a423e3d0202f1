import type { IncomingMessage, ServerResponse } from 'node:http'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import type { RoomRegistry } from '../rooms/roomRegistry.ts'
import type { ClusterNode } from './clusterNode.ts'
import { CLIENT_ADDRESS_HEADER } from './forwarding.ts'
import { NODE_AUTH_HEADER } from './nodeAuth.ts'

/** Time for the owner to answer a forwarded admin change (a revert of a big document takes a while). */
export const ADMIN_FORWARD_TIMEOUT_MS = 30_000
/** Largest answer read back from the owner (an admin answer is a document's JSON at most). */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024

/**
 * Sends a request that changes a document to the node that owns it, when another node does.
 * Resolves true when the request was answered (with the owner's status and body), false when it
 * is to be handled here: this node owns the document, nobody does (the change's room load takes
 * the lease here), or the request was itself forwarded by a node (the owner never forwards again:
 * no loops; a node that lost the document meanwhile answers with the error its room load gives).
 */
export type ForwardToOwner = (storageName: string, request: IncomingMessage, response: ServerResponse, body: string) => Promise<boolean>

export const adminForwarding = (cluster: ClusterNode, rooms: RoomRegistry): ForwardToOwner => async (storageName, request, response, body) => {
  const method = request.method ?? 'POST'
  const path = request.url ?? '/'
  if (request.headers[NODE_AUTH_HEADER] !== undefined) {
    cluster.auth.verify(request.headers[NODE_AUTH_HEADER], method, path, headerValue(request, CLIENT_ADDRESS_HEADER))
    return false
  }
  const slash = storageName.indexOf('/')
  const room = rooms.find(storageName.slice(0, slash), storageName.slice(slash + 1))
  const route = await cluster.route(storageName, room !== undefined && room.state !== 'closed')
  if (route.here) return false
  const address = request.socket.remoteAddress ?? ''
  let answer: Response
  try {
    answer = await fetch(new URL(path, route.ownerUrl), {
      method,
      headers: {
        authorization: headerValue(request, 'authorization'),
        'content-type': 'application/json',
        [NODE_AUTH_HEADER]: cluster.auth.sign(method, path, address),
        [CLIENT_ADDRESS_HEADER]: address,
      },
      ...(method === 'GET' || method === 'HEAD' ? {} : { body }),
      signal: AbortSignal.timeout(ADMIN_FORWARD_TIMEOUT_MS),
    })
  } catch (error) {
    throw new CollabError(ErrorCode.OwnerUnreachable, `the owner of the document (node ${route.ownerId}) did not answer: ${(error as Error).message}`)
  }
  const bytes = Buffer.from(await answer.arrayBuffer())
  if (bytes.byteLength > MAX_ANSWER_BYTES) throw new CollabError(ErrorCode.OwnerUnreachable, 'the owner answered with more than an admin answer can be')
  cluster.metrics.forwardedAdminRequests.inc()
  response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json', 'content-length': bytes.byteLength })
  response.end(bytes)
  return true
}

const headerValue = (request: IncomingMessage, name: string): string => {
  const value = request.headers[name]
  return (Array.isArray(value) ? value[0] : value) ?? ''
}
