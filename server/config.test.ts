import assert from 'node:assert/strict'
import path from 'node:path'
import { describe, test } from 'node:test'
import { ErrorCode } from '../shared/errors.ts'
import { DEFAULT_CONFIG, loadConfig } from './config.ts'

describe('configuration', () => {
  test('defaults: loopback, port 1234, LevelDB in ./data', () => {
    const config = loadConfig(['--dev'], {})
    assert.equal(config.host, '127.0.0.1')
    assert.equal(config.port, 1234)
    assert.equal(config.dataDir, path.resolve('./data'))
    assert.equal(config.maxPayloadBytes, DEFAULT_CONFIG.maxPayloadBytes)
  })

  test('flags override environment variables, which override defaults', () => {
    const config = loadConfig(['--dev', '--port', '4000', '--max-payload', '2048'], { COLLAB_PORT: '3000', DATA_DIR: '/tmp/x', COLLAB_HEARTBEAT_INTERVAL_MS: '500' })
    assert.equal(config.port, 4000)
    assert.equal(config.maxPayloadBytes, 2048)
    assert.equal(config.dataDir, '/tmp/x')
    assert.equal(config.heartbeatIntervalMs, 500)
  })

  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [[], {}, /no token key configured/],
    [['--dev'], { COLLAB_JWT_SECRET: 'x'.repeat(32) }, /dev mode makes its own secret/],
    [['--jwks-file', 'k.json'], { COLLAB_JWT_SECRET: 'x'.repeat(32) }, /configure one of/],
    [['--dev', '--jwt-algorithm', 'HS512'], {}, /jwt-algorithm must be RS256 or ES256/],
    [['--dev', '--port', 'eighty'], {}, /port must be a non-negative integer/],
    [['--dev', '--port', '70000'], {}, /port must be ≤ 65535/],
    [['--dev', '--bogus'], {}, /Unknown option '--bogus'/],
    [['--dev'], { COLLAB_MAX_PAYLOAD: '10' }, /max-payload must be at least 1024/],
    [['--dev'], { COLLAB_LOG_LEVEL: 'loud' }, /unknown log level "loud"/],
  ]
  for (const [argv, env, pattern] of cases) {
    test(`${JSON.stringify(argv)} ${JSON.stringify(env)} → ERR_BAD_CONFIG`, () => {
      assert.throws(
        () => loadConfig(argv, env),
        (error: { code: string; message: string }) => error.code === ErrorCode.BadConfig && pattern.test(error.message),
      )
    })
  }
})
