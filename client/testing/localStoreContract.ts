import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as Y from 'yjs'
import type { LocalDocument, LocalStore } from '../localStore.ts'

export interface LocalStoreFixture {
  /** Opens the store at the fixture's location; a second call is the same device after a restart. */
  open(): LocalStore
  /** Removes everything the fixture created. */
  dispose(): Promise<void>
}

const noErrors = { onError: (error: Error) => assert.fail(`unexpected local store error: ${error.message}`) }

/** Attaches a fresh doc to `name`, waits for the load, and returns both. */
const load = async (store: LocalStore, name: string): Promise<{ doc: Y.Doc; local: LocalDocument }> => {
  const doc = new Y.Doc()
  const local = store.attach(name, doc, noErrors)
  await local.loaded
  return { doc, local }
}

/**
 * The contract of LocalStore (client/localStore.ts), run against each implementation: LevelDB in
 * Node now, IndexedDB in browsers later.
 */
export const describeLocalStoreContract = (implementation: string, createFixture: () => Promise<LocalStoreFixture>): void => {
  describe(`LocalStore contract: ${implementation}`, () => {
    const withFixture = (run: (fixture: LocalStoreFixture) => Promise<void>) => async () => {
      const fixture = await createFixture()
      try {
        await run(fixture)
      } finally {
        await fixture.dispose()
      }
    }

    test(
      'a document never stored loads empty',
      withFixture(async (fixture) => {
        const store = fixture.open()
        const { doc, local } = await load(store, 'proposal/empty')
        assert.deepEqual(Y.encodeStateVector(doc), Y.encodeStateVector(new Y.Doc()))
        await local.destroy()
        await store.close()
      }),
    )

    test(
      'every update, a burst of them too, is stored and loads after a restart',
      withFixture(async (fixture) => {
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
        assert.deepEqual(second.doc.getMap('meta').toJSON(), meta.toJSON())
        assert.equal(second.doc.getXmlFragment('body').toString(), '<paragraph>Dear customer,</paragraph>')
        assert.equal(second.doc.getMap('financial').get('value'), 125_000)
        assert.deepEqual(Y.encodeStateVector(second.doc), Y.encodeStateVector(first.doc))
        await second.local.destroy()
        await store.close()
      }),
    )

    test(
      'the loaded state arrives as one transaction whose origin is the LocalDocument, after edits made meanwhile',
      withFixture(async (fixture) => {
        let store = fixture.open()
        const first = await load(store, 'customer/c-1')
        first.doc.getMap('fields').set('name', 'ACME')
        await first.local.destroy()
        await store.close()

        store = fixture.open()
        const doc = new Y.Doc()
        const origins: unknown[] = []
        doc.on('update', (_update: Uint8Array, origin: unknown) => origins.push(origin))
        const local = store.attach('customer/c-1', doc, noErrors)
        doc.getMap('fields').set('email', 'sales@acme.test') // before the load finished
        await local.loaded
        assert.deepEqual(origins, [null, local])
        assert.deepEqual(doc.getMap('fields').toJSON(), { name: 'ACME', email: 'sales@acme.test' })
        await local.destroy()
        await store.close()
      }),
    )

    test(
      'documents in one store are separate, and a store may hold several open documents',
      withFixture(async (fixture) => {
        const store = fixture.open()
        const a = await load(store, 'proposal/a')
        const b = await load(store, 'proposal/b')
        a.doc.getMap('meta').set('title', 'A')
        b.doc.getMap('meta').set('title', 'B')
        await Promise.all([a.local.flush(), b.local.flush()])
        const again = await load(store, 'proposal/a')
        assert.equal(again.doc.getMap('meta').get('title'), 'A')
        for (const { local } of [a, b, again]) await local.destroy()
        await store.close()
      }),
    )

    test(
      'after destroy, updates are no longer stored',
      withFixture(async (fixture) => {
        let store = fixture.open()
        const first = await load(store, 'content/k-1')
        first.doc.getMap('meta').set('title', 'kept')
        await first.local.destroy()
        first.doc.getMap('meta').set('title', 'not kept')
        await store.close()

        store = fixture.open()
        const second = await load(store, 'content/k-1')
        assert.equal(second.doc.getMap('meta').get('title'), 'kept')
        await second.local.destroy()
        await store.close()
      }),
    )
  })
}
