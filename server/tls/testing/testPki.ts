import { execFile } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * A throwaway public-key infrastructure for tests, made with the `openssl` CLI in a directory the
 * test owns: a CA, certificates it signs (server: SAN 127.0.0.1 and localhost; clients: the device
 * id as subject CN) and a CRL. EC P-256 keys, so each step takes milliseconds. Nothing binary is
 * committed: every test makes its own.
 */
export interface TestCa {
  readonly name: string
  /** PEM paths. */
  readonly certFile: string
  readonly keyFile: string
  readonly certPem: string
  /** Issues a server certificate for 127.0.0.1/localhost. */
  serverCert(name: string): Promise<IssuedCert>
  /** Issues a client certificate whose subject CN is `device` (no CN when null). */
  clientCert(name: string, device: string | null): Promise<IssuedCert>
  /**
   * Revokes the certificates and writes a CRL (PEM) naming them; returns its path. `expired`: a
   * CRL whose nextUpdate has passed (issued for 2020), as when its publisher stopped renewing it.
   */
  crl(revoked: readonly IssuedCert[], file?: string, options?: { expired?: boolean }): Promise<string>
}

export interface IssuedCert {
  readonly certFile: string
  readonly keyFile: string
  readonly certPem: string
  readonly keyPem: string
  /** Upper-case hex, as Node's `getPeerCertificate().serialNumber`. */
  readonly serial: string
  /** SHA-256 fingerprint, as Node's `fingerprint256`. */
  readonly fingerprint256: string
}

const openssl = async (args: readonly string[], cwd: string): Promise<void> => {
  await run('openssl', [...args], { cwd })
}

let serialCounter = 0x1000 + Math.floor(Math.random() * 0x1000)

/** Creates a CA in `dir/<name>.*`. */
export const createTestCa = async (dir: string, name: string): Promise<TestCa> => {
  const file = (suffix: string) => path.join(dir, `${name}${suffix}`)
  const config = file('.cnf')
  await writeFile(
    config,
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      `CN = ${name}`,
      '[ca_ext]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      '[server_ext]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = serverAuth',
      'subjectAltName = IP:127.0.0.1, DNS:localhost',
      '[client_ext]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = clientAuth',
      '[ca]',
      'default_ca = test_ca',
      '[test_ca]',
      `database = ${file('.index')}`,
      `crlnumber = ${file('.crlnumber')}`,
      `certificate = ${file('.crt')}`,
      `private_key = ${file('.key')}`,
      'default_md = sha256',
      'default_crl_days = 2',
      '',
    ].join('\n'),
  )
  await writeFile(file('.index'), '')
  await writeFile(file('.crlnumber'), '01\n')
  await openssl(
    ['req', '-x509', '-config', config, '-extensions', 'ca_ext', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', file('.key'), '-out', file('.crt'), '-days', '2', '-set_serial', String(serialCounter++)],
    dir,
  )
  const certPem = await readFile(file('.crt'), 'utf8')

  const issue = async (certName: string, extensions: 'server_ext' | 'client_ext', subject: string): Promise<IssuedCert> => {
    const out = (suffix: string) => path.join(dir, `${certName}${suffix}`)
    await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', out('.key'), '-out', out('.csr'), '-subj', subject], dir)
    const serial = serialCounter++
    await openssl(
      ['x509', '-req', '-in', out('.csr'), '-CA', file('.crt'), '-CAkey', file('.key'), '-set_serial', String(serial), '-days', '2', '-extfile', config, '-extensions', extensions, '-out', out('.crt')],
      dir,
    )
    const issuedPem = await readFile(out('.crt'), 'utf8')
    const x509 = new X509Certificate(issuedPem)
    return {
      certFile: out('.crt'),
      keyFile: out('.key'),
      certPem: issuedPem,
      keyPem: await readFile(out('.key'), 'utf8'),
      serial: x509.serialNumber.toUpperCase(),
      fingerprint256: x509.fingerprint256,
    }
  }

  return {
    name,
    certFile: file('.crt'),
    keyFile: file('.key'),
    certPem,
    serverCert: (certName) => issue(certName, 'server_ext', '/CN=localhost'),
    // `-subj /` with no CN: a certificate that names no device.
    clientCert: (certName, device) => issue(certName, 'client_ext', device === null ? '/O=No Device' : `/CN=${device}`),
    crl: async (revoked, crlFile = file('.crl.pem'), { expired = false } = {}) => {
      for (const cert of revoked) await openssl(['ca', '-config', config, '-revoke', cert.certFile], dir)
      const dates = expired ? ['-crl_lastupdate', '20200101000000Z', '-crl_nextupdate', '20200102000000Z'] : []
      await openssl(['ca', '-config', config, '-gencrl', ...dates, '-out', crlFile], dir)
      return crlFile
    },
  }
}
