import { documentTitle, type DocumentModel } from '../../shared/documentModel.ts'

/**
 * What a document is called in lists and headings: a proposal's or content's title, a customer's
 * name (a text root, or its legacy map value in a document the server has not moved over yet).
 */
export const titleOf = (model: DocumentModel): string =>
  documentTitle(model.type === 'customer' ? model.fields.ymap.doc! : model.meta.ymap.doc!, model.type)
