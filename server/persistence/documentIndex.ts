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

  /** The document names (`<type>/<id>`) of a tenant, sorted. */
  namesOf(tenant: string): string[] {
    const prefix = `${tenant}/`
    const names: string[] = []
    for (const name of this.names) if (name.startsWith(prefix)) names.push(name.slice(prefix.length))
    return names.sort()
  }

  add(storageName: string): void {
    this.names.add(storageName)
  }

  /** Documents another server created (cluster mode: they share the store). */
  addAll(storageNames: Iterable<string>): void {
    for (const name of storageNames) this.names.add(name)
  }
}
