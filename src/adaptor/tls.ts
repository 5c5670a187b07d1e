/**
 * The WebEx listener's certificate: the configured files in production; otherwise a
 * self-signed certificate for the loopback names, generated at first start into the data
 * directory and reused afterwards (so a peer that pinned it keeps working across restarts).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import selfsigned from 'selfsigned';
import { readSecretFile } from './secrets.js';

export interface KeyPair {
  cert: string;
  key: string;
}

/** What the WebEx listener's secure context is made of; reloaded whole on SIGHUP. */
export interface ListenerTls extends KeyPair {
  /** PEM of the CA(s) client certificates must chain to; absent = none requested. */
  clientCa?: string;
}

export interface CertificateSource {
  keyPair: KeyPair;
  /** Where it came from, for the start-up log line. */
  origin: 'configured' | 'generated' | 'reused';
  certFile: string;
}

const SELF_SIGNED_DIR = 'tls';
const SELF_SIGNED_VALIDITY_DAYS = 825;
const RSA_KEY_BITS = 2_048;
const SUBJECT_ALT_NAME = 7;
const DNS_NAME = 2;

/** A self-signed certificate for `localhost`, 127.0.0.1 and ::1. */
export function generateSelfSigned(commonName = 'tsp-adaptor'): Promise<KeyPair> {
  const attrs = [{ name: 'commonName', value: commonName }];
  const extensions = [
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: DNS_NAME, value: 'localhost' },
        { type: SUBJECT_ALT_NAME, ip: '127.0.0.1' },
        { type: SUBJECT_ALT_NAME, ip: '::1' },
      ],
    },
  ];
  return new Promise((resolve, reject) => {
    selfsigned.generate(
      attrs,
      { days: SELF_SIGNED_VALIDITY_DAYS, keySize: RSA_KEY_BITS, algorithm: 'sha256', extensions },
      (err, pems) => (err ? reject(err) : resolve({ cert: pems.cert, key: pems.private })),
    );
  });
}

export async function loadCertificate(
  tls: { certFile?: string | undefined; keyFile?: string | undefined },
  dataDir: string,
): Promise<CertificateSource> {
  if (tls.certFile && tls.keyFile) {
    const [cert, key] = await Promise.all([
      readConfigured(tls.certFile, 'webex.tls.certFile'),
      readSecretFile(tls.keyFile, 'webex.tls.keyFile'),
    ]);
    return { keyPair: { cert, key }, origin: 'configured', certFile: tls.certFile };
  }
  const dir = path.join(dataDir, SELF_SIGNED_DIR);
  const certFile = path.join(dir, 'webex-cert.pem');
  const keyFile = path.join(dir, 'webex-key.pem');
  try {
    const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
    return { keyPair: { cert, key }, origin: 'reused', certFile };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const keyPair = await generateSelfSigned();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Written beside and renamed, so a crash never leaves half a key that blocks the next start.
  await writeAtomically(keyFile, keyPair.key, 0o600);
  await writeAtomically(certFile, keyPair.cert, 0o644);
  return { keyPair, origin: 'generated', certFile };
}

/**
 * Everything the WebEx listener's secure context needs, read afresh: at start-up and on each
 * SIGHUP (a renewed certificate or client CA is picked up without a restart).
 */
export async function loadListenerTls(
  tls: { certFile?: string | undefined; keyFile?: string | undefined; clientCaFile?: string | undefined },
  dataDir: string,
): Promise<{ source: CertificateSource; tls: ListenerTls }> {
  const [source, clientCa] = await Promise.all([
    loadCertificate(tls, dataDir),
    tls.clientCaFile ? readConfigured(tls.clientCaFile, 'webex.tls.clientCaFile') : undefined,
  ]);
  return { source, tls: { ...source.keyPair, ...(clientCa !== undefined ? { clientCa } : {}) } };
}

/** Reads a file named by the configuration; a failure names the key, so the fix is obvious. */
export async function readConfigured(file: string, key: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`${key}: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

async function writeAtomically(file: string, text: string, mode: number): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode });
  await rename(temporary, file);
}
