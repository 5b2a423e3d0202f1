import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { LOCAL_STORE_CONTRACT, type LocalStoreFixture } from './localStoreContractCases.ts'

export type { LocalStoreFixture } from './localStoreContractCases.ts'

/** Runs the LocalStore contract (localStoreContractCases.ts) under node:test against one implementation. */
export const describeLocalStoreContract = (implementation: string, createFixture: () => Promise<LocalStoreFixture>): void => {
  describe(`LocalStore contract: ${implementation}`, () => {
    for (const contractCase of LOCAL_STORE_CONTRACT) {
      test(contractCase.name, async () => {
        const fixture = await createFixture()
        try {
          await contractCase.run(fixture, assert)
        } finally {
          await fixture.dispose()
        }
      })
    }
  })
}
