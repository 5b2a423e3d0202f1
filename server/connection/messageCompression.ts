import type { PerMessageDeflateOptions } from 'ws'

/**
 * permessage-deflate (RFC 7692) for the document sockets, negotiated with clients that offer it
 * (browsers always do; `ws` clients by default). Only messages of at least `thresholdBytes` are
 * compressed: a keystroke's update or an awareness change is a few dozen bytes, where deflate saves
 * nothing and costs a zlib context; a first sync of a big proposal is megabytes of text that
 * deflate shrinks several times.
 *
 * Memory is why it is bounded this way: `ws` creates a socket's deflate context on its first
 * compressed message and keeps it for the socket's life (no_context_takeover only resets it),
 * ~210 KiB resident once used (bench:large measures it), and an inflate context on the first
 * compressed message it receives, ~105 KiB. So a socket that is only ever sent small messages
 * never pays for a deflate context. Level 1 is the fastest (a 5 MB first sync: ~3× fewer bytes
 * for ~70–145 ms more server CPU); memLevel 4 (instead of 8) keeps ~5 % less per context for a
 * slightly lower ratio. No context is carried between messages
 * (no_context_takeover both ways): it would hold a window per socket between messages for little
 * gain on Yjs updates. The window sizes are left to what the client offers: asking for a smaller
 * one than a client offered makes `ws` refuse its handshake (400).
 *
 * 0 turns compression off: the extension is not negotiated at all.
 */
export const perMessageDeflate = (thresholdBytes: number): PerMessageDeflateOptions | false =>
  thresholdBytes === 0
    ? false
    : {
        threshold: thresholdBytes,
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        zlibDeflateOptions: { level: 1, memLevel: 4 },
      }
