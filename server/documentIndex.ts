/**
 * Which documents exist, by storage name (`<tenant>/<type>/<id>`), answered synchronously so a rule
 * can check a cross-reference (`approver-role`: the proposal's customer must exist in the tenant)
 * inside the write path without I/O. Filled from the store at start and kept current as documents
 * get their first durable write.
 */
export class DocumentIndex {
  private readonly names: Set<string>

  constructor(names: Iterable<string>) {
    this.names = new Set(names)
  }

  has(storageName: string): boolean {
    return this.names.has(storageName)
  }

  add(storageName: string): void {
    this.names.add(storageName)
  }
}
