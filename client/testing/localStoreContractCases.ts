import * as Y from 'yjs'
import type { LocalDocument, LocalStore } from '../localStore.ts'

/**
 * The contract of LocalStore (client/localStore.ts) as plain async cases, so the same cases run
 * under node:test against LevelDB (localStoreContract.ts) and inside real Chromium against
 * IndexedDB (e2e/localStore.spec.ts). They use `Check`, not node:assert, which browsers lack.
 */
export interface LocalStoreFixture {
  /** Opens the store at the fixture's location; a second call is the same device after a restart. */
  open(): LocalStore
  /** Removes everything the fixture created. */
  dispose(): Promise<void>
}

/** The assertions a case needs: node:assert in Node, a small equivalent in the browser. */
export interface Check {
  equal(actual: unknown, expected: unknown, message?: string): void
  deepEqual(actual: unknown, expected: unknown, message?: string): void
}

export interface LocalStoreCase {
  readonly name: string
  run(fixture: LocalStoreFixture, check: Check): Promise<void>
}

const failOnError = { onError: (error: Error) => { throw new Error(`unexpected local store error: ${error.message}`) } }

/** Attaches a fresh doc to `name`, waits for the load, and returns both. */
const load = async (store: LocalStore, name: string): Promise<{ doc: Y.Doc; local: LocalDocument }> => {
  const doc = new Y.Doc()
  const local = store.attach(name, doc, failOnError)
  await local.loaded
  return { doc, local }
}

export const LOCAL_STORE_CONTRACT: readonly LocalStoreCase[] = [
  {
    name: 'a document never stored loads empty',
    run: async (fixture, check) => {
      const store = fixture.open()
      const { doc, local } = await load(store, 'proposal/empty')
      check.deepEqual(Y.encodeStateVector(doc), Y.encodeStateVector(new Y.Doc()))
      await local.destroy()
      await store.close()
    },
  },
  {
    name: 'every update, a burst of them too, is stored and loads after a restart',
    run: async (fixture, check) => {
      let store = fixture.open()
      const first = await load(store, 'proposal/p-1')
      const meta = first.doc.getMap('meta')
      const body = first.doc.getXmlFragment('body')
      // A burst of separate transactions: the store must keep up, not drop any.
      for (let i = 0; i < 200; i++) meta.set(`field${i % 7}`, i)
      const paragraph = new Y.XmlElement('paragraph')
      paragraph.insert(0, [new Y.XmlText('Dear customer,')])
      body.insert(0, [paragraph])
      // An update from elsewhere (as from the server) is stored too.
      const remote = new Y.Doc()
      remote.getMap('financial').set('value', 125_000)
      Y.applyUpdate(first.doc, Y.encodeStateAsUpdate(remote), 'server')
      await first.local.destroy()
      await store.close()
      first.doc.destroy()

      store = fixture.open()
      const second = await load(store, 'proposal/p-1')
      check.deepEqual(second.doc.getMap('meta').toJSON(), meta.toJSON())
      check.equal(second.doc.getXmlFragment('body').toString(), '<paragraph>Dear customer,</paragraph>')
      check.equal(second.doc.getMap('financial').get('value'), 125_000)
      check.deepEqual(Y.encodeStateVector(second.doc), Y.encodeStateVector(first.doc))
      await second.local.destroy()
      await store.close()
    },
  },
  {
    name: 'the loaded state arrives as one transaction whose origin is the LocalDocument, after edits made meanwhile',
    run: async (fixture, check) => {
      let store = fixture.open()
      const first = await load(store, 'customer/c-1')
      first.doc.getMap('fields').set('name', 'ACME')
      await first.local.destroy()
      await store.close()

      store = fixture.open()
      const doc = new Y.Doc()
      const origins: unknown[] = []
      doc.on('update', (_update: Uint8Array, origin: unknown) => origins.push(origin))
      const local = store.attach('customer/c-1', doc, failOnError)
      doc.getMap('fields').set('email', 'sales@acme.test') // before the load finished
      await local.loaded
      check.equal(origins.length, 2, 'two updates: the edit, then the load')
      check.equal(origins[0], null)
      check.equal(origins[1] === local, true, 'the load transaction’s origin is the LocalDocument')
      check.deepEqual(doc.getMap('fields').toJSON(), { name: 'ACME', email: 'sales@acme.test' })
      await local.destroy()
      await store.close()
    },
  },
  {
    name: 'documents in one store are separate, and a store may hold several open documents',
    run: async (fixture, check) => {
      const store = fixture.open()
      const a = await load(store, 'proposal/a')
      const b = await load(store, 'proposal/b')
      a.doc.getMap('meta').set('title', 'A')
      b.doc.getMap('meta').set('title', 'B')
      await Promise.all([a.local.flush(), b.local.flush()])
      const again = await load(store, 'proposal/a')
      check.equal(again.doc.getMap('meta').get('title'), 'A')
      for (const { local } of [a, b, again]) await local.destroy()
      await store.close()
    },
  },
  {
    name: 'discard deletes the local copy of that document only, and stores nothing after it',
    run: async (fixture, check) => {
      let store = fixture.open()
      const damaged = await load(store, 'proposal/damaged')
      const other = await load(store, 'proposal/other')
      damaged.doc.getMap('meta').set('title', 'kept nowhere')
      other.doc.getMap('meta').set('title', 'kept')
      await damaged.local.flush()
      await damaged.local.discard()
      damaged.doc.getMap('meta').set('after', 'not stored either')
      await other.local.destroy()
      await store.close()

      store = fixture.open()
      const reloaded = await load(store, 'proposal/damaged')
      const otherAgain = await load(store, 'proposal/other')
      check.deepEqual(reloaded.doc.getMap('meta').toJSON(), {}, 'the discarded document loads empty')
      check.deepEqual(otherAgain.doc.getMap('meta').toJSON(), { title: 'kept' }, 'the other document is untouched')
      await reloaded.local.destroy()
      await otherAgain.local.destroy()
      await store.close()
    },
  },
  {
    name: 'after destroy, updates are no longer stored',
    run: async (fixture, check) => {
      let store = fixture.open()
      const first = await load(store, 'content/k-1')
      first.doc.getMap('meta').set('title', 'kept')
      await first.local.destroy()
      first.doc.getMap('meta').set('title', 'not kept')
      await store.close()

      store = fixture.open()
      const second = await load(store, 'content/k-1')
      check.equal(second.doc.getMap('meta').get('title'), 'kept')
      await second.local.destroy()
      await store.close()
    },
  },
]
