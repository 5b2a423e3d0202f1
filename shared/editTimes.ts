import type * as Y from 'yjs'
import type { DocumentType } from './documentName.ts'
import { MAP_SCHEMAS } from './schemas.ts'

/**
 * When each field-level field got its current value. Yjs orders concurrent writes to one map key
 * by client id, not by time, so an edit made offline hours ago would beat a newer one. Every
 * document has a root map `editedAt`: key = the field's path (`meta.dueDate`), value = when its
 * current value was written, in ms. The app writes it with the field, in the same transaction;
 * the server bounds it by its own clock (and writes it when a client did not), so of two
 * concurrent writes it can keep the later one (server/gate/timestampWins.ts).
 */
export const EDITED_AT_ROOT = 'editedAt'

/** The paths of the field-level fields of a document type (`fields` roots; records keep their own rules). */
const FIELD_PATHS: ReadonlyMap<DocumentType, ReadonlySet<string>> = new Map(
  (Object.keys(MAP_SCHEMAS) as DocumentType[]).map((type) => {
    const paths = new Set<string>()
    const roots: Readonly<Record<string, { kind: string; schema: unknown }>> = MAP_SCHEMAS[type]
    for (const [root, spec] of Object.entries(roots)) {
      if (spec.kind !== 'fields') continue
      for (const key of Object.keys((spec.schema as { shape: object }).shape)) paths.add(`${root}.${key}`)
    }
    return [type, paths] as const
  }),
)

/** Is `path` a field whose concurrent writes are decided by time? */
export const isTimedField = (type: DocumentType, path: string): boolean => FIELD_PATHS.get(type)?.has(path) ?? false

/** The name of a root map (`meta`), or null for a nested map. */
export const rootNameOf = (map: Y.Map<unknown>): string | null => {
  const doc = map.doc
  if (!doc || map._item !== null) return null
  for (const [name, type] of doc.share) if ((type as unknown) === map) return name
  return null
}

/**
 * Writes `map[key] = value` as a person's edit: with its time in `editedAt`, in one transaction
 * (a deletion carries no time: concurrent writes are decided between values).
 */
export const writeField = (map: Y.Map<unknown>, key: string, value: unknown, now: number = Date.now()): void => {
  const root = rootNameOf(map)
  const doc = map.doc
  const write = () => {
    if (value === undefined) {
      map.delete(key)
      return
    }
    map.set(key, value)
    if (root !== null && doc) doc.getMap(EDITED_AT_ROOT).set(`${root}.${key}`, now)
  }
  if (doc) doc.transact(write)
  else write()
}
