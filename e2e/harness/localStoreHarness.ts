import { openIndexeddbLocalStore } from '../../client/indexeddbLocalStore.ts'
import { LOCAL_STORE_CONTRACT, type Check } from '../../client/testing/localStoreContractCases.ts'

/**
 * Runs one LocalStore contract case in the page against the IndexedDB store (bundled by
 * e2e/localStore.spec.ts). Each run gets its own namespace, deleted afterwards.
 */
/** JSON with bytes spelled out and object keys sorted (deep equality ignores key order, as node:assert does). */
const comparable = (value: unknown): string =>
  JSON.stringify(value, (_key, inner: unknown) => {
    if (inner instanceof Uint8Array) return { bytes: Array.from(inner) }
    if (inner !== null && typeof inner === 'object' && !Array.isArray(inner)) {
      return Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    }
    return inner
  })

const check: Check = {
  equal: (actual, expected, message) => {
    if (!Object.is(actual, expected)) throw new Error(`${message ?? 'equal'}: expected ${comparable(expected)}, got ${comparable(actual)}`)
  },
  deepEqual: (actual, expected, message) => {
    if (comparable(actual) !== comparable(expected)) throw new Error(`${message ?? 'deepEqual'}: expected ${comparable(expected)}, got ${comparable(actual)}`)
  },
}

let runs = 0

const runCase = async (name: string): Promise<void> => {
  const contractCase = LOCAL_STORE_CONTRACT.find((candidate) => candidate.name === name)
  if (!contractCase) throw new Error(`no contract case "${name}"`)
  const namespace = `contract-${Date.now()}-${++runs}`
  await contractCase.run(
    {
      open: () => openIndexeddbLocalStore(namespace),
      dispose: async () => {
        for (const database of await indexedDB.databases()) {
          if (database.name?.startsWith(`posalpro:${namespace}:`)) indexedDB.deleteDatabase(database.name)
        }
      },
    },
    check,
  )
}

;(window as unknown as { runLocalStoreCase: typeof runCase }).runLocalStoreCase = runCase
