import { CollabError, ErrorCode } from './errors.ts'

/** The three document types. */
export const DOCUMENT_TYPES = ['proposal', 'customer', 'content'] as const
export type DocumentType = (typeof DOCUMENT_TYPES)[number]

const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/

export interface DocumentName {
  readonly type: DocumentType
  readonly id: string
  /** `<type>/<id>`: the room name in the WebSocket URL. */
  readonly name: string
}

export const isDocumentType = (value: string): value is DocumentType =>
  (DOCUMENT_TYPES as readonly string[]).includes(value)

/**
 * Parses `<type>/<id>`. Throws a CollabError with `ERR_UNKNOWN_DOCUMENT_TYPE` or
 * `ERR_BAD_DOCUMENT_NAME`, whose message says what is wrong, so a 400 can carry it.
 */
export const parseDocumentName = (name: string): DocumentName => {
  const parts = name.split('/')
  if (parts.length !== 2) {
    throw new CollabError(ErrorCode.BadDocumentName, `document name must be <type>/<id>, got "${truncate(name)}"`)
  }
  const [type = '', id = ''] = parts
  if (!isDocumentType(type)) {
    throw new CollabError(
      ErrorCode.UnknownDocumentType,
      `unknown document type "${truncate(type)}"; expected one of ${DOCUMENT_TYPES.join(', ')}`,
    )
  }
  if (!ID_PATTERN.test(id)) {
    throw new CollabError(ErrorCode.BadDocumentName, `document id must match ${ID_PATTERN.source}, got "${truncate(id)}"`)
  }
  return { type, id, name: `${type}/${id}` }
}

export const documentName = (type: DocumentType, id: string): DocumentName => parseDocumentName(`${type}/${id}`)

const truncate = (value: string): string => (value.length > 40 ? `${value.slice(0, 40)}…` : value)
