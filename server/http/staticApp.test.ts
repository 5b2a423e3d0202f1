import assert from 'node:assert/strict'
import http from 'node:http'
import { mkdir, writeFile } from 'node:fs/promises'
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib'
import path from 'node:path'
import { describe, test } from 'node:test'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { startServer } from '../testing/startServer.ts'

/** A built app directory with known contents (what client/app/build.ts writes). */
const appFixture = async () => {
  const dir = await tempDir('posalpro-app-')
  await mkdir(dir.path, { recursive: true })
  await writeFile(path.join(dir.path, 'index.html'), '<!doctype html><title>app</title>')
  await writeFile(path.join(dir.path, 'app.js'), 'console.log("app")')
  await writeFile(path.join(dir.path, 'app.js.map'), '{"version":3,"sources":["../../client/app/main.ts"]}')
  await writeFile(path.join(dir.path, 'app.css'), 'body{}')
  await writeFile(path.join(dir.path, 'sw.js'), 'self.addEventListener("fetch",()=>{})')
  await writeFile(path.join(dir.path, 'secret.txt'), 'not for the web')
  return dir
}

describe('the demo app is served at /', () => {
  test('the page, script, style and service worker with their types; revalidation with ETag; HEAD; CSP on the page', async () => {
    const app = await appFixture()
    const server = await startServer({ appDir: app.path })
    try {
      const page = await fetch(`${server.httpUrl}/`)
      assert.equal(page.status, 200)
      assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8')
      assert.equal(page.headers.get('cache-control'), 'no-cache')
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/)
      assert.equal(await page.text(), '<!doctype html><title>app</title>')

      const script = await fetch(`${server.httpUrl}/app.js`)
      assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8')
      assert.equal(await script.text(), 'console.log("app")')
      assert.equal((await fetch(`${server.httpUrl}/app.css`)).headers.get('content-type'), 'text/css; charset=utf-8')
      const worker = await fetch(`${server.httpUrl}/sw.js`)
      assert.equal(worker.headers.get('service-worker-allowed'), '/')
      assert.equal(worker.headers.get('cache-control'), 'no-cache')

      const etag = script.headers.get('etag')
      assert.ok(etag, 'etag')
      const again = await fetch(`${server.httpUrl}/app.js`, { headers: { 'if-none-match': etag } })
      assert.equal(again.status, 304)
      assert.equal(await again.text(), '')

      const head = await fetch(`${server.httpUrl}/app.js`, { method: 'HEAD' })
      assert.equal(head.status, 200)
      assert.equal(head.headers.get('content-length'), String('console.log("app")'.length))
    } finally {
      await server.dispose()
      await app.remove()
    }
  })

  test('only the files the build writes: other files, traversal and other methods are refused', async () => {
    const app = await appFixture()
    const server = await startServer({ appDir: app.path })
    try {
      for (const pathname of ['/secret.txt', '/../package.json', '/%2e%2e/package.json', '/app.js/../secret.txt']) {
        const response = await fetch(`${server.httpUrl}${pathname}`)
        assert.equal(response.status, 404, pathname)
        assert.doesNotMatch(await response.text(), /not for the web/)
      }
      const post = await fetch(`${server.httpUrl}/`, { method: 'POST', body: 'x' })
      assert.equal(post.status, 405)
    } finally {
      await server.dispose()
      await app.remove()
    }
  })

  test('the source map is not served by default (404, and app.js does not point to it); with serveSourceMaps it is', async () => {
    const app = await appFixture()
    const hidden = await startServer({ appDir: app.path })
    try {
      const map = await fetch(`${hidden.httpUrl}/app.js.map`)
      assert.equal(map.status, 404)
      assert.doesNotMatch(await map.text(), /client\/app/)
      assert.equal((await fetch(`${hidden.httpUrl}/app.js`)).headers.get('sourcemap'), null)
    } finally {
      await hidden.dispose()
    }
    const shown = await startServer({ appDir: app.path, serveSourceMaps: true })
    try {
      const map = await fetch(`${shown.httpUrl}/app.js.map`)
      assert.equal(map.status, 200)
      assert.equal(map.headers.get('content-type'), 'application/json')
      assert.equal(await map.text(), '{"version":3,"sources":["../../client/app/main.ts"]}')
      // The build writes no sourceMappingURL comment: the header is how developer tools find the map.
      assert.equal((await fetch(`${shown.httpUrl}/app.js`)).headers.get('sourcemap'), '/app.js.map')
    } finally {
      await shown.dispose()
      await app.remove()
    }
  })

  test('precompressed files (what the build writes beside each) are served to clients that accept them: br, then gzip, else the plain file', async () => {
    const app = await appFixture()
    const script = 'console.log("app");'.repeat(200)
    await writeFile(path.join(app.path, 'app.js'), script)
    await writeFile(path.join(app.path, 'app.js.br'), brotliCompressSync(script))
    await writeFile(path.join(app.path, 'app.js.gz'), gzipSync(script))
    const server = await startServer({ appDir: app.path })
    const get = (acceptEncoding: string | null, method = 'GET') =>
      new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
        const request = http.request(`${server.httpUrl}/app.js`, { method, headers: acceptEncoding === null ? {} : { 'accept-encoding': acceptEncoding } }, (response) => {
          const chunks: Buffer[] = []
          response.on('data', (chunk: Buffer) => chunks.push(chunk))
          response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }))
        })
        request.on('error', reject)
        request.end()
      })
    try {
      const br = await get('gzip, deflate, br')
      assert.equal(br.headers['content-encoding'], 'br')
      assert.equal(br.headers['vary'], 'accept-encoding')
      assert.equal(br.headers['content-type'], 'text/javascript; charset=utf-8')
      assert.equal(Number(br.headers['content-length']), br.body.length)
      assert.ok(br.body.length < script.length / 10, `${br.body.length} bytes for ${script.length}`)
      assert.equal(brotliDecompressSync(br.body).toString(), script)

      const gzip = await get('gzip')
      assert.equal(gzip.headers['content-encoding'], 'gzip')
      assert.equal(gunzipSync(gzip.body).toString(), script)
      assert.equal((await get('br;q=0, gzip')).headers['content-encoding'], 'gzip')

      const plain = await get(null)
      assert.equal(plain.headers['content-encoding'], undefined)
      assert.equal(plain.headers['vary'], 'accept-encoding')
      assert.equal(plain.body.toString(), script)
      assert.equal((await get('identity')).body.toString(), script)
      // Each encoding is its own representation: its own ETag, so a cache never mixes them up.
      assert.notEqual(br.headers['etag'], plain.headers['etag'])
      assert.notEqual(br.headers['etag'], gzip.headers['etag'])
      // A file without precompressed copies (the style) is served as it is.
      const style = await fetch(`${server.httpUrl}/app.css`)
      assert.equal(style.headers.get('content-encoding'), null)
    } finally {
      await server.dispose()
      await app.remove()
    }
  })

  test('without a build, / says how to build it (404 with a code); the API still works', async () => {
    const empty = await tempDir('posalpro-no-app-')
    const server = await startServer({ appDir: empty.path })
    try {
      const page = await fetch(`${server.httpUrl}/`)
      assert.equal(page.status, 404)
      const body = (await page.json()) as { error: { code: string; message: string } }
      assert.equal(body.error.code, 'ERR_NOT_FOUND')
      assert.match(body.error.message, /the demo app is not built .* run npm run build/)
      assert.equal((await fetch(`${server.httpUrl}/healthz`)).status, 200)
    } finally {
      await server.dispose()
      await empty.remove()
    }
  })
})
