import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { CollabError, ErrorCode } from '../../shared/errors.ts'

/**
 * Device trust (mutual TLS): with a client CA configured the server asks every connection for a
 * certificate but lets the handshake complete whatever it gets (requestCert, no rejectUnauthorized),
 * so that a refusal is an HTTP answer with a code the client can read (a failed handshake only
 * says "alert"). This module turns what OpenSSL concluded into that answer.
 *
 * The device a certificate names is its subject CN, exactly one: what `openssl req -subj
 * /CN=<device>` writes and what device-management tools put there. It must equal the token's
 * `device` claim, so a token copied to another machine is useless without that machine's key.
 */

/** OpenSSL's verdict for a revoked certificate (from the CRL). */
const REVOKED = 'CERT_REVOKED'

const isTlsSocket = (socket: Socket): socket is TLSSocket => (socket as Partial<TLSSocket>).encrypted === true

/**
 * The device id of the connection's client certificate. Throws ERR_CLIENT_CERT_MISSING (none
 * presented), ERR_CLIENT_CERT_REVOKED (listed in the CRL), ERR_CLIENT_CERT_UNTRUSTED (not signed by
 * the client CA, expired, or anything else OpenSSL refused) or ERR_DEVICE_MISMATCH (trusted but
 * naming no single device).
 */
export const certifiedDevice = (socket: Socket): string => {
  if (!isTlsSocket(socket)) throw new CollabError(ErrorCode.ClientCertMissing, 'this server requires TLS with a client certificate')
  const certificate = socket.getPeerCertificate()
  if (!certificate || Object.keys(certificate).length === 0) {
    throw new CollabError(ErrorCode.ClientCertMissing, 'no client certificate: this server admits only devices with a certificate from its client CA')
  }
  if (!socket.authorized) {
    const verdict = String(socket.authorizationError ?? 'unknown')
    if (verdict === REVOKED) {
      throw new CollabError(ErrorCode.ClientCertRevoked, `the client certificate (serial ${certificate.serialNumber}) has been revoked`)
    }
    throw new CollabError(ErrorCode.ClientCertUntrusted, `the client certificate is not trusted (${verdict}): it must be signed by this server's client CA and valid now`)
  }
  const cn = certificate.subject?.CN as string | string[] | undefined
  if (typeof cn !== 'string' || cn === '') {
    throw new CollabError(ErrorCode.DeviceMismatch, 'the client certificate names no device: its subject must have exactly one CN')
  }
  return cn
}

/** Throws ERR_DEVICE_MISMATCH unless the token was issued for the certificate's device. */
export const checkDeviceMatch = (certified: string, tokenDevice: string | null): void => {
  if (tokenDevice === certified) return
  throw new CollabError(
    ErrorCode.DeviceMismatch,
    tokenDevice === null
      ? `the token names no device; this connection's certificate is for device "${certified}"`
      : `the token is for device "${tokenDevice}" but this connection's certificate is for device "${certified}"`,
  )
}
