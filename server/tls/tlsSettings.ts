import { X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createSecureContext, type SecureContextOptions, type SecureVersion } from 'node:tls'
import { CollabError, ErrorCode } from '../../shared/errors.ts'

/** The TLS part of the configuration: PEM file paths, empty when not set. */
export interface TlsFiles {
  readonly tlsCert: string
  readonly tlsKey: string
  readonly tlsMinVersion: '1.2' | '1.3'
  readonly tlsClientCa: string
  readonly tlsCrl: string
}

/** What the server terminates TLS with, read from the files (at start and at every reload). */
export interface TlsSettings {
  /** Everything `https.createServer` and `server.setSecureContext` take. */
  readonly secureContext: SecureContextOptions
  /** Clients must present a certificate signed by the client CA (device trust). */
  readonly deviceTrust: boolean
  /** The server certificate, for logs (and tests that check which one is served). */
  readonly certificate: { readonly serial: string; readonly fingerprint256: string; readonly validTo: string; readonly subject: string }
}

const MIN_VERSIONS: Readonly<Record<TlsFiles['tlsMinVersion'], SecureVersion>> = { '1.2': 'TLSv1.2', '1.3': 'TLSv1.3' }

const badConfig = (message: string): CollabError => new CollabError(ErrorCode.BadConfig, message)

const readPem = async (file: string, what: string, marker: RegExp): Promise<string> => {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw badConfig(`cannot read the ${what} ${file}: ${(error as Error).message}`)
  }
  if (!marker.test(text)) throw badConfig(`the ${what} ${file} holds no PEM block of the right kind (${marker.source.replaceAll('\\', '')})`)
  return text
}

/** True when TLS is configured (a certificate and its key). */
export const tlsConfigured = (files: TlsFiles): boolean => files.tlsCert !== '' || files.tlsKey !== ''

/**
 * Reads the certificate, key, client CA and CRL and checks that they make a usable secure context
 * (the key matches the certificate, the PEM parses), so a bad file stops the server at start and a
 * bad file at a reload is refused before it replaces what works. Throws ERR_BAD_CONFIG naming the
 * file. Null when TLS is not configured.
 */
export const loadTlsSettings = async (files: TlsFiles): Promise<TlsSettings | null> => {
  if (!tlsConfigured(files)) return null
  const cert = await readPem(files.tlsCert, 'TLS certificate', /-----BEGIN CERTIFICATE-----/)
  const key = await readPem(files.tlsKey, 'TLS key', /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/)
  const ca = files.tlsClientCa ? await readPem(files.tlsClientCa, 'TLS client CA', /-----BEGIN CERTIFICATE-----/) : undefined
  const crl = files.tlsCrl ? await readPem(files.tlsCrl, 'TLS CRL', /-----BEGIN X509 CRL-----/) : undefined
  let certificate: TlsSettings['certificate']
  try {
    const x509 = new X509Certificate(cert)
    certificate = { serial: x509.serialNumber.toUpperCase(), fingerprint256: x509.fingerprint256, validTo: x509.validTo, subject: x509.subject }
  } catch (error) {
    throw badConfig(`the TLS certificate ${files.tlsCert} is not a readable certificate: ${(error as Error).message}`)
  }
  const secureContext: SecureContextOptions = {
    cert,
    key,
    minVersion: MIN_VERSIONS[files.tlsMinVersion],
    ...(ca === undefined ? {} : { ca }),
    ...(crl === undefined ? {} : { crl }),
  }
  try {
    createSecureContext(secureContext)
  } catch (error) {
    const reason = (error as Error).message
    const which = /key values mismatch/i.test(reason)
      ? `the TLS key ${files.tlsKey} does not belong to the certificate ${files.tlsCert}`
      : `the TLS files (${[files.tlsCert, files.tlsKey, files.tlsClientCa, files.tlsCrl].filter(Boolean).join(', ')}) do not make a usable TLS context`
    throw badConfig(`${which}: ${reason}`)
  }
  return { secureContext, deviceTrust: ca !== undefined, certificate }
}
