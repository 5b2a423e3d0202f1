import * as Y from 'yjs'
import type { DocumentType } from './documentName.ts'
import { richTextToString } from './richTextString.ts'
import { sharedToJSON } from './sharedTypeJson.ts'
import {
  MAP_SCHEMAS,
  RICH_TEXT_ROOTS,
  TEXT_ROOTS,
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
  readonly title: Y.Text
  readonly body: Y.XmlFragment
}

export interface CustomerModel {
  readonly type: 'customer'
  readonly fields: TypedMap<CustomerFields>
  readonly name: Y.Text
  readonly address: Y.Text
  readonly industry: Y.Text
  readonly notes: Y.XmlFragment
}

export interface ContentModel {
  readonly type: 'content'
  readonly meta: TypedMap<ContentMeta>
  readonly title: Y.Text
  readonly category: Y.Text
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
  title: doc.getText('title'),
  body: doc.getXmlFragment('body'),
})

export const customerModel = (doc: Y.Doc): CustomerModel => ({
  type: 'customer',
  fields: typedMap(doc.getMap('fields')),
  name: doc.getText('name'),
  address: doc.getText('address'),
  industry: doc.getText('industry'),
  notes: doc.getXmlFragment('notes'),
})

export const contentModel = (doc: Y.Doc): ContentModel => ({
  type: 'content',
  meta: typedMap(doc.getMap('meta')),
  title: doc.getText('title'),
  category: doc.getText('category'),
  body: doc.getXmlFragment('body'),
})

const MODEL_FACTORIES: { [T in DocumentType]: (doc: Y.Doc) => DocumentModels[T] } = {
  proposal: proposalModel,
  customer: customerModel,
  content: contentModel,
}

export const modelFor = <T extends DocumentType>(type: T, doc: Y.Doc): DocumentModels[T] => MODEL_FACTORIES[type](doc)

/** The root type names of a document type: its maps, its rich-text fragments and its plain-text fields. */
export interface RootNames {
  readonly maps: readonly string[]
  readonly richText: readonly string[]
  readonly text: readonly string[]
}

/** Built once per type: the write path asks for them at every update. */
const ROOT_NAMES = new Map<DocumentType, RootNames>()

export const rootNames = (type: DocumentType): RootNames => {
  let names = ROOT_NAMES.get(type)
  if (!names) {
    names = Object.freeze({
      maps: Object.freeze(Object.keys(MAP_SCHEMAS[type])),
      richText: Object.freeze([...RICH_TEXT_ROOTS[type]]),
      text: Object.freeze(Object.keys(TEXT_ROOTS[type])),
    })
    ROOT_NAMES.set(type, names)
  }
  return names
}

/** A plain-text field: its root name, its maximum length and the map root its legacy form sits in (under the same key). */
export interface TextField {
  readonly name: string
  readonly max: number
  readonly legacy: string
}

export const textFields = (type: DocumentType): readonly TextField[] =>
  Object.entries(TEXT_ROOTS[type] as Record<string, { max: number; legacy: string }>).map(([name, { max, legacy }]) => ({ name, max, legacy }))

/** The text field named `name` of a document type, or undefined. */
export const textField = (type: DocumentType, name: string): TextField | undefined => textFields(type).find((field) => field.name === name)

/**
 * What a plain-text field reads as, in either form: the text root when it holds text or when there
 * is no legacy value, else the legacy map value (a document stored before the field became a text
 * root, not yet loaded by the server since, or written by a client that had not synced since).
 * Reads without creating a root the document does not have.
 */
export const readTextField = (doc: Y.Doc, type: DocumentType, name: string): string => {
  const field = textField(type, name)
  if (field === undefined) return ''
  const text = doc.share.has(name) ? doc.getText(name).toString() : ''
  if (text !== '') return text
  const legacy = doc.share.has(field.legacy) ? doc.getMap<unknown>(field.legacy).get(name) : undefined
  return typeof legacy === 'string' ? legacy : text
}

/** The text field a document is called by (in lists and headings): a title, a customer's name. */
export const TITLE_FIELD: { readonly [T in DocumentType]: string } = { proposal: 'title', customer: 'name', content: 'title' }

/** What a document is called, in either form (see readTextField). */
export const documentTitle = (doc: Y.Doc, type: DocumentType): string => readTextField(doc, type, TITLE_FIELD[type])

/**
 * The document as plain JSON: every map as an object, every rich-text root as its XML string,
 * every plain-text field as its string (read in either form, see readTextField)
 * (written with loops, not Yjs's recursive toString/toJSON: a stored tree may be nested thousands
 * deep; nested maps deeper than MAX_JSON_NESTING read as a marker).
 */
export const documentToJSON = (type: DocumentType, doc: Y.Doc): Record<string, unknown> => {
  const { maps, richText, text } = rootNames(type)
  const json: Record<string, unknown> = {}
  for (const name of maps) json[name] = sharedToJSON(doc.getMap(name))
  for (const name of text) json[name] = readTextField(doc, type, name)
  for (const name of richText) json[name] = richTextToString(doc.getXmlFragment(name))
  return json
}
