// Placeholder until the browser issue (D): end-to-end tests in real Chromium will live in e2e/.
// The server-side and Node-client tests run with `npm test` (node:test) today.
export default {}
