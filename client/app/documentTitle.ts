import type { DocumentModel } from '../../shared/documentModel.ts'

/** What a document is called in lists and headings: a proposal's or content's title, a customer's name. */
export const titleOf = (model: DocumentModel): string => {
  switch (model.type) {
    case 'proposal':
      return model.meta.get('title') ?? ''
    case 'customer':
      return model.fields.get('name') ?? ''
    case 'content':
      return model.meta.get('title') ?? ''
  }
}
