/**
 * The service worker: keeps the app shell (page, script, style) so the app starts with no network
 * after the first visit; documents then open from IndexedDB. Only the shell is cached — API calls,
 * tokens and WebSockets always go to the network.
 *
 * Strategy: network first, cache as fallback. Online, every load gets the newest build (and
 * refreshes the cache); offline, the cached shell answers at once (the failed fetch is immediate).
 * The cache name carries the build's hash (replaced by the build), so a new build installs a new
 * cache and the old one is deleted on activation.
 */

interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request
  respondWith(response: Promise<Response> | Response): void
}
interface ServiceWorkerScope {
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEvent) => void): void
  addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void
  skipWaiting(): Promise<void>
  readonly clients: { claim(): Promise<void> }
}

declare const BUILD_HASH: string
const scope = self as unknown as ServiceWorkerScope
const CACHE = `posalpro-shell-${BUILD_HASH}`
const SHELL = ['/', '/app.js', '/app.css', '/favicon.svg']

scope.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => scope.skipWaiting()),
  )
})

scope.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name.startsWith('posalpro-shell-') && name !== CACHE).map((name) => caches.delete(name))))
      .then(() => scope.clients.claim()),
  )
})

scope.addEventListener('fetch', (event) => {
  const { request } = event
  const url = new URL(request.url)
  if (request.method !== 'GET' || url.origin !== location.origin) return
  // Every route of the app is the one page (routes live in the hash).
  const key = request.mode === 'navigate' ? '/' : url.pathname
  if (!SHELL.includes(key)) return
  event.respondWith(
    fetch(request)
      .then(async (response) => {
        if (response.ok) {
          const cache = await caches.open(CACHE)
          await cache.put(key, response.clone())
        }
        return response
      })
      .catch(async () => (await caches.match(key, { cacheName: CACHE })) ?? Response.error()),
  )
})
