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
  const file = path.join(appDir, entry.file)
  let info
  try {
    info = await stat(file)
  } catch {
    sendJson(response, 404, {
      error: { code: 'ERR_NOT_FOUND', message: `the demo app is not built (${file} is missing): run npm run build` },
    })
    return
  }
  const etag = `"${info.size.toString(36)}-${Math.floor(info.mtimeMs).toString(36)}"`
  const headers = {
    'content-type': entry.type,
    'cache-control': 'no-cache',
    etag,
    'x-content-type-options': 'nosniff',
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
