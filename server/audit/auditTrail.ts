import type { IncomingMessage } from 'node:http'
import { ErrorCode, isCollabError } from '../../shared/errors.ts'
import { parseDocumentName } from '../../shared/documentName.ts'
import type { Identity } from '../auth/identity.ts'
import { refusedIdentityOf, type RefusedIdentity } from '../auth/refusedIdentity.ts'
import { clientAddress } from '../connection/clientAddress.ts'
import type { AuditAppender } from './auditAppender.ts'
import { auditRecord, UNKNOWN_TENANT, type AuditRecordInput } from './auditRecord.ts'
import { CutSockets } from './cutSockets.ts'

/**
 * The header the admin CLI sends with every request: the command it runs (`review approve`). The
 * server uses it for the audit record's label (action `cli`) and for nothing else: anyone with an
 * admin token can send it, so it never changes what a request may do.
 */
export const CLI_COMMAND_HEADER = 'x-posalpro-cli-command'

/** Who, as the audit records them: a verified identity, or what a refusal knows of one. */
type Who = Pick<AuditRecordInput, 'tenant' | 'userId' | 'role' | 'device'>

const nobody: Who = { tenant: UNKNOWN_TENANT, userId: null, role: null, device: null }
const whoIs = (identity: RefusedIdentity | null): Who =>
  identity ? { tenant: identity.tenant, userId: identity.userId, role: identity.role, device: identity.device } : nobody

const pathOf = (request: IncomingMessage): string => {
  const target = request.url ?? '/'
  // Only the path: a WebSocket URL's query carries the token.
  return URL.canParse(target, 'http://localhost') ? new URL(target, 'http://localhost').pathname : target.split('?')[0] ?? ''
}

/** The document a sync URL asks for, as `<type>/<id>`, or the path as it came when it names none. */
const askedDocument = (request: IncomingMessage): string => {
  const path = pathOf(request).replace(/^\/+/, '')
  let decoded = path
  try {
    decoded = decodeURIComponent(path)
  } catch {
    // keep it as it came
  }
  try {
    return parseDocumentName(decoded).name
  } catch {
    return decoded
  }
}

/** The document an admin or app route names (`/admin/docs/:type/:id[/…]`, `/api/documents/:type/:id[/…]`), else null. */
const routeDocument = (path: string): string | null => {
  const parts = path.split('/').filter(Boolean)
  const names = (parts[0] === 'admin' && parts[1] === 'docs') || (parts[0] === 'api' && parts[1] === 'documents')
  if (!names || parts.length < 4) return null
  try {
    return parseDocumentName(`${parts[2]}/${parts[3]}`).name
  } catch {
    return null
  }
}

const headerText = (request: IncomingMessage, name: string): string | null => {
  const value = request.headers[name]
  return (Array.isArray(value) ? value[0] : value) ?? null
}

/** One admin API call being handled: who it turned out to be, then how it ended. */
export interface AdminCallAudit {
  /** The token was verified as an admin's: from here on the call is admitted. */
  admitted(identity: Identity): void
  /** The call ended with this error (a refusal before `admitted`, else a failed operation). */
  failed(error: unknown): void
  /** The document the call acts on, when its route does not name it (a review item's). */
  about(document: string): void
  /** Another node forwarded the call (its signature verified): that node records it, not this one. */
  forwardedByNode(): void
  /** Records the call (once). */
  end(): void
}

/**
 * What the server records in the access audit: every document connection admitted or refused at
 * the upgrade, or cut off later (token expiry, sustained abuse); every admin API call (labelled
 * `cli` when the admin CLI made it) and review decision of the app; HTTP requests refused by
 * device trust before any route; sockets cut before a request, summed up (CutSockets). Recording
 * queues the record (AuditAppender) and returns at once.
 */
export class AuditTrail {
  readonly cutSockets: CutSockets

  constructor(
    private readonly appender: AuditAppender,
    private readonly trustProxy: boolean,
  ) {
    this.cutSockets = new CutSockets(appender)
  }

  /** A document connection the upgrade admitted. */
  opened(request: IncomingMessage, identity: Identity, document: string): void {
    this.appender.record(auditRecord({ ...whoIs(identity), address: clientAddress(request, this.trustProxy), document, action: 'open', route: null, command: null, outcome: 'admitted', code: null }))
  }

  /** A document connection refused at the upgrade (before or after its token was verified). */
  refused(request: IncomingMessage, error: unknown): void {
    this.appender.record(
      auditRecord({
        ...whoIs(refusedIdentityOf(error)),
        address: clientAddress(request, this.trustProxy),
        document: askedDocument(request),
        action: 'open',
        route: null,
        command: null,
        outcome: 'refused',
        code: isCollabError(error) ? error.code : 'ERR_INTERNAL',
      }),
    )
  }

  /**
   * An admitted connection cut off later for what it did (sustained abuse of its inbound budget):
   * recorded again, as a refusal with its code, so the report shows who was cut off and why.
   */
  cutOff(identity: Identity, address: string, document: string, code: string): void {
    this.appender.record(auditRecord({ ...whoIs(identity), address, document, action: 'open', route: null, command: null, outcome: 'refused', code }))
  }

  /** An admitted connection whose token expired while it was open: closed 4401, recorded as refused. */
  tokenExpired(identity: Identity, address: string, document: string): void {
    this.cutOff(identity, address, document, ErrorCode.TokenExpired)
  }

  /**
   * An HTTP request refused before any route looked at it (device trust: no certificate, another
   * CA's, a revoked one). No token was read: recorded under tenant `-` with the route it asked
   * for, as an admin call (`admin-api` / `cli`) for `/admin/…`, else as `http`.
   */
  refusedRequest(request: IncomingMessage, error: unknown): void {
    const path = pathOf(request)
    if (path.startsWith('/admin/')) {
      const call = this.adminCall(request)
      call.failed(error)
      call.end()
      return
    }
    this.appender.record(
      auditRecord({
        ...nobody,
        address: clientAddress(request, this.trustProxy),
        document: routeDocument(path),
        action: 'http',
        route: `${request.method ?? 'GET'} ${path}`,
        command: null,
        outcome: 'refused',
        code: isCollabError(error) ? error.code : 'ERR_INTERNAL',
      }),
    )
  }

  /**
   * An upgrade refused at a cap only a flood fills (pending upgrades): summed up per address,
   * document asked for and code (CutSockets), not a record each.
   */
  refusedInFlood(request: IncomingMessage, code: string): void {
    this.cutSockets.cut(clientAddress(request, this.trustProxy), code, { action: 'open', document: askedDocument(request) })
  }

  /** A socket cut before it sent a request the server read: summed up per address and code (CutSockets). */
  socketCut(address: string | undefined, code: string): void {
    this.cutSockets.cut(address, code)
  }

  adminCall(request: IncomingMessage): AdminCallAudit {
    let identity: Identity | null = null
    let error: unknown = null
    let ended = false
    let document: string | null = null
    const path = pathOf(request)
    const command = headerText(request, CLI_COMMAND_HEADER)
    return {
      admitted: (who) => {
        identity = who
      },
      failed: (thrown) => {
        error = thrown
      },
      about: (name) => {
        document = name
      },
      forwardedByNode: () => {
        ended = true
      },
      end: () => {
        if (ended) return
        ended = true
        this.appender.record(
          auditRecord({
            ...(identity ? whoIs(identity) : whoIs(refusedIdentityOf(error))),
            address: clientAddress(request, this.trustProxy),
            document: document ?? routeDocument(path),
            action: command === null ? 'admin-api' : 'cli',
            route: `${request.method ?? 'GET'} ${path}`,
            command,
            outcome: identity ? 'admitted' : 'refused',
            code: error === null ? null : isCollabError(error) ? error.code : 'ERR_INTERNAL',
          }),
        )
      },
    }
  }
}
