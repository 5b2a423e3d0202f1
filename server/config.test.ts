import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, test } from 'node:test'
import { ErrorCode } from '../shared/errors.ts'
import { spawn } from 'node:child_process'
import { tempDir } from '../shared/testing/tempDir.ts'
import { DEFAULT_CONFIG, loadConfig, OPTIONS } from './config.ts'

const refused = (argv: string[], env: Record<string, string>, pattern: RegExp) =>
  assert.throws(
    () => loadConfig(argv, env),
    (error: { code: string; message: string }) => error.code === ErrorCode.BadConfig && pattern.test(error.message),
    `${JSON.stringify(argv)} ${JSON.stringify(env)} should be refused with ${pattern}`,
  )

describe('configuration', () => {
  test('defaults: loopback, port 1234, LevelDB in ./data, the gate on', () => {
    const config = loadConfig(['--dev'], {})
    assert.equal(config.host, '127.0.0.1')
    assert.equal(config.port, 1234)
    assert.equal(config.dataDir, path.resolve('./data'))
    assert.equal(config.maxPayloadBytes, DEFAULT_CONFIG.maxPayloadBytes)
    assert.equal(config.validationGate, true)
  })

  test('flags override environment variables, which override defaults', () => {
    const config = loadConfig(['--dev', '--port', '4000', '--max-payload', '2048'], { COLLAB_PORT: '3000', DATA_DIR: '/tmp/x', COLLAB_HEARTBEAT_INTERVAL_MS: '500' })
    assert.equal(config.port, 4000)
    assert.equal(config.maxPayloadBytes, 2048)
    assert.equal(config.dataDir, '/tmp/x')
    assert.equal(config.heartbeatIntervalMs, 500)
  })

  test('booleans: true/1 and false/0 are the only spellings; a switch flag means true', () => {
    for (const [text, value] of [['true', true], ['1', true], ['false', false], ['0', false]] as const) {
      assert.equal(loadConfig(['--dev'], { COLLAB_VALIDATION_GATE: text }).validationGate, value, text)
      assert.equal(loadConfig([], { COLLAB_DEV_MODE: text, ...(value ? {} : { COLLAB_JWT_SECRET: 's'.repeat(32) }) }).devMode, value, text)
    }
    assert.equal(loadConfig(['--dev', '--trust-proxy'], {}).trustProxy, true)
  })

  test('a typo never switches the gate off: TRUE, yes, on, off, no are refused', () => {
    for (const text of ['TRUE', 'yes', 'on', 'off', 'no', 'False', ' true']) {
      refused(['--dev'], { COLLAB_VALIDATION_GATE: text }, /COLLAB_VALIDATION_GATE must be one of true, false, 1, 0/)
    }
  })

  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [[], {}, /no token key configured/],
    [['--dev'], { COLLAB_JWT_SECRET: 'x'.repeat(32) }, /dev mode makes its own secret/],
    [['--jwks-file', 'k.json'], { COLLAB_JWT_SECRET: 'x'.repeat(32) }, /configure one of/],
    [[], { COLLAB_JWT_SECRET: 'x'.repeat(31) }, /COLLAB_JWT_SECRET must be at least 32 bytes/],
    [['--dev', '--jwt-algorithm', 'HS512'], {}, /--jwt-algorithm must be one of RS256, ES256/],
    [['--dev', '--port', 'eighty'], {}, /--port must be a non-negative integer/],
    [['--dev', '--port', '70000'], {}, /--port must be at most 65535/],
    [['--dev', '--port=-1'], {}, /--port must be a non-negative integer/],
    [['--dev', '--bogus'], {}, /Unknown option '--bogus'/],
    [['--dev', '--redis-url', 'redis://127.0.0.1:6379'], {}, /redis-url \(cluster mode\) needs postgres-url/],
    [['--jwks-file', 'k.json', '--redis-url', 'redis://r', '--postgres-url', 'postgres://p'], {}, /needs cluster-secret/],
    [['--dev', '--advertise-url', 'http://10.0.0.5:8080/path'], {}, /--advertise-url must be a base URL/],
    [['--dev', '--cluster-secret', 'short'], {}, /--cluster-secret must be at least 32 bytes/],
    [['--dev', '--dev=maybe'], {}, /does not take an argument/],
    [['--dev'], { COLLAB_MAX_PAYLOAD: '10' }, /COLLAB_MAX_PAYLOAD must be at least 1024/],
    [['--dev'], { COLLAB_MAX_PAYLOAD: '1e6' }, /COLLAB_MAX_PAYLOAD must be a non-negative integer/],
    [['--dev'], { COLLAB_LOG_LEVEL: 'loud' }, /COLLAB_LOG_LEVEL must be one of fatal, error/],
    [['--dev'], { COLLAB_TRUST_PROXY: 'yes' }, /COLLAB_TRUST_PROXY must be one of true, false, 1, 0/],
  ]
  for (const [argv, env, pattern] of cases) {
    test(`${JSON.stringify(argv)} ${JSON.stringify(env)} → ERR_BAD_CONFIG`, () => refused(argv, env, pattern))
  }

  test("README's configuration table names every option's flag and environment variables", async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8')
    const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1))
    for (const [key, spec] of Object.entries(OPTIONS)) {
      const row = table.split('\n').find((line) => line.startsWith(`| ${key}`) || line.includes(` ${key} `) || line.includes(`/ ${key}`) || line.includes(`${key} /`))
      assert.ok(row, `README has no configuration row for ${key}`)
      if (key !== 'validationGate' || row.includes('--')) assert.ok(row.includes(`\`--${spec.flag}\``), `README's row for ${key} lacks --${spec.flag}`)
      for (const name of spec.env) assert.ok(row.includes(`\`${name}\``), `README's row for ${key} lacks ${name}`)
    }
  })

  test('a bad configuration exits 2 with its code, also when found while starting (a missing key file)', async () => {
    const dir = await tempDir('posalpro-config-')
    try {
      for (const env of [{ COLLAB_DEV_MODE: '1', COLLAB_VALIDATION_GATE: 'yes' }, { COLLAB_JWT_SECRET: 'short' }, { COLLAB_JWKS_FILE: '/nonexistent/jwks.json' }]) {
        const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', '--data-dir', dir.path, '--port', '0'], {
          cwd: new URL('..', import.meta.url),
          env: { ...process.env, ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        })
        let output = ''
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
        const code = await new Promise((resolve) => child.once('exit', resolve))
        assert.equal(code, 2, `${JSON.stringify(env)}: ${output}`)
        assert.match(output, /ERR_BAD_CONFIG/)
      }
    } finally {
      await dir.remove()
    }
  })
})
