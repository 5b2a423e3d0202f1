import type { IncomingMessage } from 'node:http'
import type { DocumentName } from '../../shared/documentName.ts'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { EXTENSION_QUERY_PARAM, EXTENSION_VERSION } from '../../shared/extensionProtocol.ts'
import { tokenFromRequest, type Identity, type TokenVerifier } from '../auth/index.ts'
import { originAllowed } from './clientAddress.ts'
import { parseDocumentName } from '../../shared/documentName.ts'
import { certifiedDevice, checkDeviceMatch } from '../tls/deviceTrust.ts'
import { requestUrl } from '../http/requestTarget.ts'
import { withRefusedIdentity } from '../auth/refusedIdentity.ts'

export interface Admission {
  readonly identity: Identity
  readonly document: DocumentName
  /** Opted in to extension messages (acks, notices) with `?ext=1`. */
  readonly wantsExtensions: boolean
}

export interface AdmissionPolicy {
  readonly verifier: TokenVerifier
  readonly allowedOrigins: ReadonlySet<string>
  /** Mutual TLS: the connection's client certificate must be trusted and name the token's device. */
  readonly deviceTrust: boolean
}

/**
 * Decides, before the WebSocket upgrade, whether a request may connect and as whom:
 * origin (403) → document name (400) → client certificate under device trust (401) → token (401)
 * → the token's device is the certificate's (403) → access (403). Throws a CollabError whose
 * code `httpStatusFor` turns into the refusal's status; nothing is upgraded for a refused request.
 *
 * Access: an authenticated user may open any document of its own tenant. Tenants are separated by
 * storage (rooms and keys are prefixed with the token's tenant), so a document name can never
 * reach another tenant's data; what a role may *write* is decided per update in the write path.
 */
export const admit = async (request: IncomingMessage, policy: AdmissionPolicy): Promise<Admission> => {
  if (!originAllowed(request, policy.allowedOrigins)) {
    throw new CollabError(ErrorCode.OriginNotAllowed, `origin ${request.headers.origin} is not allowed`)
  }
  const url = requestUrl(request)
  let path: string
  try {
    path = decodeURIComponent(url.pathname.replace(/^\/+/, ''))
  } catch {
    path = url.pathname
  }
  const document = parseDocumentName(path)
  // The certificate before the token: it costs no crypto (the handshake did that).
  const device = policy.deviceTrust ? certifiedDevice(request.socket) : null
  const identity = await policy.verifier.verify(tokenFromRequest(url, request.headers) ?? '')
  if (device !== null) {
    try {
      checkDeviceMatch(device, identity.device)
    } catch (error) {
      throw withRefusedIdentity(error as Error, identity)
    }
  }
  return { identity, document, wantsExtensions: url.searchParams.get(EXTENSION_QUERY_PARAM) === EXTENSION_VERSION }
}
