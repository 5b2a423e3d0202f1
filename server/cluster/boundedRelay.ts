import type { Socket } from 'node:net'

/**
 * Copies bytes from one socket to another, reading no further while more than `limitBytes` wait
 * to be written: a receiver that does not read stops the sender through TCP instead of growing
 * the relay's memory. At most one read chunk (64 KiB) lands above the limit.
 *
 * Calls `onBuffered` with the bytes waiting after each write (for a peak figure).
 */
export const relayBounded = (from: Socket, to: Socket, limitBytes: number, onBuffered: (bytes: number) => void = () => {}): void => {
  let paused = false
  from.on('data', (chunk: Buffer) => {
    // The callback runs once this chunk was handed to the kernel: the right moment to look again.
    to.write(chunk, () => {
      if (paused && to.writableLength <= limitBytes / 2) {
        paused = false
        from.resume()
      }
    })
    onBuffered(to.writableLength)
    if (!paused && to.writableLength > limitBytes) {
      paused = true
      from.pause()
    }
  })
  // A half-close is passed on (the WebSocket closing handshake ends with one); an error or a
  // reset ends both at once, so the other side learns at once that the connection is gone.
  from.once('end', () => to.end())
  from.once('close', () => {
    if (!to.writableEnded || to.writableFinished) to.destroy()
    else to.once('finish', () => to.destroy())
  })
}
