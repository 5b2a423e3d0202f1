import * as Y from 'yjs'
import type { DocumentType } from './documentName.ts'
import { richTextToString } from './richTextString.ts'
import { sharedToJSON } from './sharedTypeJson.ts'
import {
  MAP_SCHEMAS,
  RICH_TEXT_ROOTS,
  type Approval,
  type ContentMeta,
  type CustomerFields,
  type ProposalFinancial,
  type ProposalMeta,
  type Role,
} from './schemas.ts'

/**
 * Typed accessors over the Yjs root types of each document type, used by the server, the client
 * and tests alike, so the root type names and value types are spelled in one place.
 */

/** A Y.Map whose keys and value types come from a schema. Reads are typed; so are writes. */
export interface TypedMap<T extends object> {
  readonly ymap: Y.Map<unknown>
  get<K extends keyof T & string>(key: K): T[K] | undefined
  set<K extends keyof T & string>(key: K, value: T[K]): void
  delete(key: keyof T & string): void
  toJSON(): Partial<T>
}

const typedMap = <T extends object>(ymap: Y.Map<unknown>): TypedMap<T> => ({
  ymap,
  get: (key) => ymap.get(key) as never,
  set: (key, value) => void ymap.set(key, value),
  delete: (key) => ymap.delete(key),
  toJSON: () => ymap.toJSON() as Partial<T>,
})

export interface ProposalModel {
  readonly type: 'proposal'
  readonly meta: TypedMap<ProposalMeta>
  readonly financial: TypedMap<ProposalFinancial>
  /** userId → role in this proposal's team. */
  readonly team: TypedMap<Record<string, Role>>
  /** reviewerId → decision. */
  readonly approvals: TypedMap<Record<string, Approval>>
  readonly body: Y.XmlFragment
}

export interface CustomerModel {
  readonly type: 'customer'
  readonly fields: TypedMap<CustomerFields>
  readonly notes: Y.XmlFragment
}

export interface ContentModel {
  readonly type: 'content'
  readonly meta: TypedMap<ContentMeta>
  readonly body: Y.XmlFragment
}

export type DocumentModel = ProposalModel | CustomerModel | ContentModel
export interface DocumentModels {
  proposal: ProposalModel
  customer: CustomerModel
  content: ContentModel
}

export const proposalModel = (doc: Y.Doc): ProposalModel => ({
  type: 'proposal',
  meta: typedMap(doc.getMap('meta')),
  financial: typedMap(doc.getMap('financial')),
  team: typedMap(doc.getMap('team')),
  approvals: typedMap(doc.getMap('approvals')),
  body: doc.getXmlFragment('body'),
})

export const customerModel = (doc: Y.Doc): CustomerModel => ({
  type: 'customer',
  fields: typedMap(doc.getMap('fields')),
  notes: doc.getXmlFragment('notes'),
})

export const contentModel = (doc: Y.Doc): ContentModel => ({
  type: 'content',
  meta: typedMap(doc.getMap('meta')),
  body: doc.getXmlFragment('body'),
})

const MODEL_FACTORIES: { [T in DocumentType]: (doc: Y.Doc) => DocumentModels[T] } = {
  proposal: proposalModel,
  customer: customerModel,
  content: contentModel,
}

export const modelFor = <T extends DocumentType>(type: T, doc: Y.Doc): DocumentModels[T] => MODEL_FACTORIES[type](doc)

/** The root type names of a document type: its maps and its rich-text fragments. */
export const rootNames = (type: DocumentType): { maps: string[]; richText: string[] } => ({
  maps: Object.keys(MAP_SCHEMAS[type]),
  richText: [...RICH_TEXT_ROOTS[type]],
})

/**
 * The document as plain JSON: every map as an object, every rich-text root as its XML string
 * (written with loops, not Yjs's recursive toString/toJSON: a stored tree may be nested thousands
 * deep; nested maps deeper than MAX_JSON_NESTING read as a marker).
 */
export const documentToJSON = (type: DocumentType, doc: Y.Doc): Record<string, unknown> => {
  const { maps, richText } = rootNames(type)
  const json: Record<string, unknown> = {}
  for (const name of maps) json[name] = sharedToJSON(doc.getMap(name))
  for (const name of richText) json[name] = richTextToString(doc.getXmlFragment(name))
  return json
}
