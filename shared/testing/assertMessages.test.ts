import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

/** Every .ts file under `dir` (node_modules and build output skipped). */
const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) return []
    const full = path.join(dir, entry.name)
    return entry.isDirectory() ? sources(full) : entry.name.endsWith('.ts') ? [full] : []
  })

/**
 * Node builds the message of a failed `assert.ok(value)` without a message by reading the caller's
 * source at the failing column and parsing it. Under tsx the column is the compiled code's, the
 * file on disk is TypeScript: the parse fails and Node keeps widening it — minutes for one failed
 * attempt inside `eventually`, which looks like a hung test. So every `assert.ok`/`assert` call
 * carries its own message.
 */
test('every assert.ok / assert call in the repository carries a message', () => {
  const bare: string[] = []
  for (const file of ['server', 'shared', 'client', 'bench', 'e2e'].flatMap((dir) => sources(path.join(ROOT, dir)))) {
    const text = readFileSync(file, 'utf8')
    if (!text.includes('assert')) continue
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS)
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && node.arguments.length === 1) {
        const callee = node.expression.getText(source)
        if (callee === 'assert.ok' || callee === 'assert') {
          const { line } = source.getLineAndCharacterOfPosition(node.getStart(source))
          bare.push(`${path.relative(ROOT, file)}:${line + 1}`)
        }
      }
      ts.forEachChild(node, visit)
    }
    visit(source)
  }
  assert.deepEqual(bare, [], 'assert.ok without a message')
})
