import type { IncomingMessage, ServerResponse } from 'node:http'
import { isCollabError } from '../../shared/errors.ts'
import { verifyBearer, type TokenVerifier } from '../auth/index.ts'
import type { DocumentIndex } from '../persistence/documentIndex.ts'
import { sendError, sendJson } from './httpReply.ts'

/**
 * `GET /api/documents` (`Authorization: Bearer <token>`, any role): the names of the caller's
 * tenant's documents, for the app's document list. Names only, from the in-memory index: listing
 * must not load documents. Every user of a tenant may open its documents, so the list
 * reveals nothing a connection would not.
 */
export const answerDocumentList = async (
  request: IncomingMessage,
  response: ServerResponse,
  context: {
    readonly verifier: TokenVerifier
    readonly index: DocumentIndex
    /** Cluster mode: adds the tenant's documents other nodes created to the index first (they share the store). */
    readonly refreshIndex?: (tenant: string) => Promise<void>
  },
): Promise<void> => {
  try {
    const identity = await verifyBearer(request.headers, context.verifier)
    await context.refreshIndex?.(identity.tenant)
    const documents = context.index.namesOf(identity.tenant).map((name) => {
      const [type = '', id = ''] = name.split('/')
      return { name, type, id }
    })
    sendJson(response, 200, { documents })
  } catch (error) {
    if (!isCollabError(error)) throw error
    sendError(response, error)
  }
}
