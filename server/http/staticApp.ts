import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import path from 'node:path'
import { sendJson } from './httpReply.ts'

/**
 * Serves the built demo app (dist/app) at `/`. Only the files the build writes are served — a
 * fixed list, so no request path is ever joined onto the file system (no traversal to think about).
 *
 * Caching: every file is revalidated (`no-cache` + ETag from size and mtime), so a new build is
 * picked up on the next load; offline, the service worker answers from its own cache. `sw.js`
 * must never be cached by HTTP (browsers cap it at 24 h anyway), or an update would wait a day.
 */
const APP_FILES: ReadonlyMap<string, { file: string; type: string }> = new Map([
  ['/', { file: 'index.html', type: 'text/html; charset=utf-8' }],
  ['/index.html', { file: 'index.html', type: 'text/html; charset=utf-8' }],
  ['/app.js', { file: 'app.js', type: 'text/javascript; charset=utf-8' }],
  ['/app.css', { file: 'app.css', type: 'text/css; charset=utf-8' }],
  ['/sw.js', { file: 'sw.js', type: 'text/javascript; charset=utf-8' }],
  ['/favicon.svg', { file: 'favicon.svg', type: 'image/svg+xml' }],
])

/**
 * The source map holds the whole client source (~2.4 MB). The build writes it without a
 * `sourceMappingURL` comment; only a server configured to serve it (`serveSourceMaps`) does, and
 * then names it in app.js's `SourceMap` header, which is how developer tools find it.
 */
const SOURCE_MAP_PATH = '/app.js.map'
const SOURCE_MAP = { file: 'app.js.map', type: 'application/json' }

const appFile = (pathname: string, serveSourceMaps: boolean) =>
  APP_FILES.get(pathname) ?? (serveSourceMaps && pathname === SOURCE_MAP_PATH ? SOURCE_MAP : undefined)

export const isAppPath = (pathname: string, serveSourceMaps: boolean): boolean => appFile(pathname, serveSourceMaps) !== undefined

export const serveAppFile = async (
  request: IncomingMessage,
  response: ServerResponse,
  { appDir, serveSourceMaps }: { appDir: string; serveSourceMaps: boolean },
  pathname: string,
): Promise<void> => {
  const entry = appFile(pathname, serveSourceMaps)!
  const plain = path.join(appDir, entry.file)
  if (!(await statOf(plain))) {
    sendJson(response, 404, {
      error: { code: 'ERR_NOT_FOUND', message: `the demo app is not built (${plain} is missing): run npm run build` },
    })
    return
  }
  // The build writes br and gzip copies beside each file; the best one the client accepts is sent.
  const chosen = await precompressedFor(plain, request.headers['accept-encoding'])
  const { file, info, encoding } = chosen
  const etag = `"${info.size.toString(36)}-${Math.floor(info.mtimeMs).toString(36)}${encoding ? `-${encoding}` : ''}"`
  const headers = {
    'content-type': entry.type,
    'cache-control': 'no-cache',
    etag,
    vary: 'accept-encoding',
    'x-content-type-options': 'nosniff',
    ...(encoding ? { 'content-encoding': encoding } : {}),
    ...(entry.file === 'index.html' ? { 'content-security-policy': CONTENT_SECURITY_POLICY } : {}),
    ...(entry.file === 'sw.js' ? { 'service-worker-allowed': '/' } : {}),
    ...(entry.file === 'app.js' && serveSourceMaps ? { sourcemap: SOURCE_MAP_PATH } : {}),
  }
  if (request.headers['if-none-match'] === etag) {
    response.writeHead(304, headers)
    response.end()
    return
  }
  response.writeHead(200, { ...headers, 'content-length': info.size })
  if (request.method === 'HEAD') {
    response.end()
    return
  }
  createReadStream(file)
    .on('error', (error) => response.destroy(error))
    .pipe(response)
}

const statOf = async (file: string) => {
  try {
    return await stat(file)
  } catch {
    return null
  }
}

/** Content codings the build writes, best first, with the suffix of their file. */
const PRECOMPRESSED = [
  { encoding: 'br', suffix: '.br' },
  { encoding: 'gzip', suffix: '.gz' },
] as const

/** The codings an Accept-Encoding header accepts (a `q=0` refuses one; `*` accepts any). */
const acceptedCodings = (header: string | undefined): { accepts: (coding: string) => boolean } => {
  const weights = new Map<string, number>()
  for (const part of (header ?? '').split(',')) {
    const [name, ...parameters] = part.trim().toLowerCase().split(';')
    if (!name) continue
    const q = parameters.map((parameter) => parameter.trim()).find((parameter) => parameter.startsWith('q='))
    weights.set(name, q === undefined ? 1 : Number(q.slice(2)) || 0)
  }
  return { accepts: (coding) => (weights.get(coding) ?? weights.get('*') ?? 0) > 0 }
}

/** The file to send for `plain`: its best precompressed copy the client accepts, else itself. */
const precompressedFor = async (plain: string, acceptEncoding: string | undefined) => {
  const accepted = acceptedCodings(acceptEncoding)
  for (const { encoding, suffix } of PRECOMPRESSED) {
    if (!accepted.accepts(encoding)) continue
    const info = await statOf(plain + suffix)
    if (info) return { file: plain + suffix, info, encoding }
  }
  return { file: plain, info: (await stat(plain)), encoding: null }
}

/** The app loads only its own script and style and talks only to this origin (HTTP and WebSocket). */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'", // ProseMirror and y-prosemirror set inline styles (carets)
  "connect-src 'self'", // CSP3: 'self' covers ws:/wss: to this host
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ')
