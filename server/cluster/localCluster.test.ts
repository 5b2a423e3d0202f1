import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, test } from 'node:test'
import * as Y from 'yjs'
import { eventually } from '../../shared/testing/eventually.ts'
import { freePort } from '../../shared/testing/freePort.ts'
import { connectStockClient, type StockClient } from '../../shared/testing/stockClient.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { clusterFlagsSupported } from './localNode.ts'
import { rankNodes } from './rendezvous.ts'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const LAUNCHER = path.join(ROOT, 'server/cluster/localCluster.ts')

const launch = (args: string[]) => {
  const child = spawn(process.execPath, ['--import', 'tsx', LAUNCHER, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')))
  return { child, exited, stdout: () => stdout, stderr: () => stderr }
}

/** Every process below `root` (children, their children, …), read from /proc. */
const descendantsOf = (root: number): number[] => {
  const parentOf = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {
      // exited meanwhile
    }
  }
  const found: number[] = []
  const queue = [root]
  while (queue.length > 0) {
    const parent = queue.shift()!
    for (const [pid, ppid] of parentOf) {
      if (ppid === parent) {
        found.push(pid)
        queue.push(pid)
      }
    }
  }
  return found
}

const alive = (pid: number): boolean => {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return state.slice(state.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

test('npm run cluster refuses an unknown flag (exit 2)', async () => {
  const run = launch(['--port', '0', '--bogus'])
  assert.equal(await run.exited, 2)
  assert.match(run.stderr(), /unknown option '--bogus'/)
})

test('npm run cluster: the app and /readyz through the front, clients through the front and on a node converge, SIGTERM leaves nothing behind', async () => {
  const app = await tempDir('posalpro-cluster-app-')
  after(() => app.remove())
  const marker = `cluster app ${Date.now()}`
  await writeFile(path.join(app.path, 'index.html'), `<!doctype html><title>${marker}</title>`)
  const [frontPort, ...nodePorts] = await Promise.all([freePort(), freePort(), freePort(), freePort()])
  const run = launch(['--port', String(frontPort), '--node-ports', nodePorts.join(','), '--app-dir', app.path])
  const clients: StockClient[] = []
  after(() => {
    for (const client of clients) client.destroy()
    run.child.kill('SIGKILL')
  })
  await eventually(
    () => {
      if (run.child.exitCode !== null) assert.fail(`the launcher exited:\n${run.stdout()}\n${run.stderr()}`)
      assert.match(run.stdout(), /^ready: /m)
    },
    { timeoutMs: 150_000, intervalMs: 100 },
  )
  const front = `http://127.0.0.1:${frontPort}`
  const nodes = nodePorts.map((p) => `http://127.0.0.1:${p}`)
  assert.match(run.stdout(), new RegExp(`front +${front}`))
  for (const [i, node] of nodes.entries()) assert.match(run.stdout(), new RegExp(`node-${i + 1} +${node} +pid \\d+`))
  const dirs = /^ {2}dirs +(.+)$/m.exec(run.stdout())![1]!.split(' ')
  assert.equal(dirs.length, 3)
  for (const dir of dirs) assert.ok(existsSync(dir), dir)

  const page = await fetch(`${front}/`)
  assert.equal(page.status, 200)
  assert.match(await page.text(), new RegExp(marker))
  const ready = await fetch(`${front}/readyz`)
  assert.equal(ready.status, 200)
  assert.equal(((await ready.json()) as { status: string }).status, 'ready')

  // One dev secret for every node: a token from the front is good on each node.
  const { token } = (await (await fetch(`${front}/dev/token?user=alice&role=editor&tenant=acme`)).json()) as { token: string }
  const room = 'proposal/cluster-demo'
  const ranked = rankNodes(`/${room}`, nodes)
  // With cluster mode in the server, any node forwards to the owner: the direct client goes to a
  // node the front does not pick. Without it, nodes share only the database, so the direct client
  // goes to the node the front picks (the document's one live copy).
  const directNode = clusterFlagsSupported() ? ranked[1]! : ranked[0]!
  const viaFront = connectStockClient(`ws://127.0.0.1:${frontPort}`, room, { params: { token } })
  const direct = connectStockClient(directNode.replace('http', 'ws'), room, { params: { token } })
  clients.push(viaFront, direct)
  await Promise.all([viaFront.whenSynced(), direct.whenSynced()])
  viaFront.doc.getMap('meta').set('title', 'from the front')
  direct.doc.getMap('meta').set('status', 'draft')
  await eventually(() => {
    for (const doc of [viaFront.doc, direct.doc]) {
      assert.equal(doc.getMap('meta').get('title'), 'from the front')
      assert.equal(doc.getMap('meta').get('status'), 'draft')
    }
    assert.deepEqual(Y.encodeStateVector(viaFront.doc), Y.encodeStateVector(direct.doc))
  })
  for (const client of clients.splice(0)) client.destroy()

  const processes = descendantsOf(run.child.pid!)
  // Three nodes, Redis, the postmaster and its backends.
  assert.ok(processes.length >= 5, `only ${processes.length} processes below the launcher`)
  run.child.kill('SIGTERM')
  assert.equal(await run.exited, 0, run.stderr())
  await eventually(() => assert.deepEqual(processes.filter(alive), [], 'processes left behind'))
  for (const dir of dirs) assert.equal(existsSync(dir), false, `${dir} left behind`)
})

test('npm run cluster: SIGTERM while PostgreSQL starts stops everything once it is up and leaves nothing behind', async () => {
  const [frontPort, ...nodePorts] = await Promise.all([freePort(), freePort(), freePort(), freePort()])
  const run = launch(['--port', String(frontPort), '--node-ports', nodePorts.join(',')])
  after(() => run.child.kill('SIGKILL'))
  // initdb or postgres, whichever runs now, names PostgreSQL's temp directory in `-D <dir>/data`.
  const postgresDir = await eventually(
    () => {
      if (run.child.exitCode !== null) assert.fail(`the launcher exited:\n${run.stdout()}\n${run.stderr()}`)
      for (const pid of descendantsOf(run.child.pid!)) {
        const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
        const dataDir = args[args.indexOf('-D') + 1]
        if (args.includes('-D') && dataDir) return path.dirname(dataDir)
      }
      return assert.fail('PostgreSQL is not starting yet')
    },
    { timeoutMs: 60_000, intervalMs: 5 },
  )
  const data = /^data in (.+)$/m.exec(run.stdout())![1]!
  run.child.kill('SIGTERM')
  const processes = descendantsOf(run.child.pid!)
  assert.equal(await run.exited, 0, `${run.stdout()}\n${run.stderr()}`)
  assert.doesNotMatch(run.stdout(), /^ready: /m)
  await eventually(() => assert.deepEqual(processes.filter(alive), [], 'processes left behind'))
  for (const dir of [data, postgresDir]) assert.equal(existsSync(dir), false, `${dir} left behind`)
})
