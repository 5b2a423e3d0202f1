import { createHash } from 'node:crypto'
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib'
import * as esbuild from 'esbuild'

/**
 * Builds the demo app into dist/app: app.js (client/app/main.ts and everything it imports, one
 * ES module), sw.js (the service worker, with the build's hash as its cache name), the page, the
 * style and the icon, each with a brotli (.br) and a gzip (.gz) copy the server sends to browsers
 * that accept them. `npm run build` (and so `npm start`) runs it. The source map (app.js.map) is
 * written without a `sourceMappingURL` comment in app.js: the server serves it, and names it in a
 * header, only when `serveSourceMaps` is on.
 */
const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, '../..')
const out = path.join(root, 'dist', 'app')

const build = async (): Promise<void> => {
  await mkdir(out, { recursive: true })
  const common = { bundle: true, minify: true, target: 'es2022', logLevel: 'warning' } as const
  await esbuild.build({ ...common, entryPoints: [path.join(here, 'main.ts')], outfile: path.join(out, 'app.js'), format: 'esm', sourcemap: 'external' })
  for (const file of ['index.html', 'app.css', 'favicon.svg']) await copyFile(path.join(here, file), path.join(out, file))
  const hash = createHash('sha256')
  for (const file of ['app.js', 'index.html', 'app.css', 'favicon.svg']) hash.update(await readFile(path.join(out, file)))
  await esbuild.build({
    ...common,
    entryPoints: [path.join(here, 'sw.ts')],
    outfile: path.join(out, 'sw.js'),
    format: 'iife',
    define: { BUILD_HASH: JSON.stringify(hash.digest('hex').slice(0, 12)) },
  })
  // Compressed once here, at the highest levels, instead of per request: the server sends the copy
  // the browser accepts (br, else gzip). app.js: ~450 KB plain, a fraction of that compressed.
  for (const file of ['app.js', 'sw.js', 'index.html', 'app.css', 'favicon.svg']) {
    const bytes = await readFile(path.join(out, file))
    await writeFile(path.join(out, `${file}.br`), brotliCompressSync(bytes, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: bytes.length } }))
    await writeFile(path.join(out, `${file}.gz`), gzipSync(bytes, { level: 9 }))
  }
  await writeFile(path.join(out, 'BUILD'), `${new Date().toISOString()}\n`)
}

await build()
