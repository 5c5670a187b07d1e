/**
 * Certificates for the security tests, made with the openssl command line in a temporary
 * directory: two CAs, a server certificate for the loopback addresses, and client
 * certificates with chosen subjects. EC P-256 keys, so generating them takes milliseconds.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { compileAllowedHosts } from '../../src/adaptor/http/allowed-hosts.js';
import { WebexListener, type WebexListenerOptions } from '../../src/adaptor/http/webex-listener.js';
import { CONFIRMATION, type ConfirmationResult, createCodec, type TspCodec } from '../../src/protocol/index.js';
import { silentLogger } from '../shell/support.js';

export interface Pem {
  cert: string;
  key: string;
}

export class TestPki {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'tsp-pki-'));
  #serial = 1;

  /** A self-signed CA. */
  ca(name: string): Pem {
    const key = this.#key(name);
    const cert = path.join(this.dir, `${name}.crt`);
    openssl(['req', '-x509', '-new', '-key', key, '-subj', `/CN=${name}`, '-days', '2', '-out', cert,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
  }

  /** A leaf signed by `issuer`, for the server (loopback SANs) or a client (CN and DNS SAN = name). */
  leaf(issuer: Pem, name: string, usage: 'server' | 'client'): Pem {
    const key = this.#key(name);
    const csr = path.join(this.dir, `${name}.csr`);
    const cert = path.join(this.dir, `${name}.crt`);
    const ext = path.join(this.dir, `${name}.ext`);
    const issuerCert = path.join(this.dir, `${name}-issuer.crt`);
    const issuerKey = path.join(this.dir, `${name}-issuer.key`);
    writeFileSync(issuerCert, issuer.cert);
    writeFileSync(issuerKey, issuer.key, { mode: 0o600 });
    const san = usage === 'server' ? 'DNS:localhost,IP:127.0.0.1,IP:::1' : `DNS:${name}`;
    writeFileSync(ext, `subjectAltName=${san}\nextendedKeyUsage=${usage === 'server' ? 'serverAuth' : 'clientAuth'}\n`);
    openssl(['req', '-new', '-key', key, '-subj', `/CN=${name}`, '-out', csr]);
    openssl(['x509', '-req', '-in', csr, '-CA', issuerCert, '-CAkey', issuerKey, '-set_serial', String(this.#serial++),
      '-days', '2', '-extfile', ext, '-out', cert]);
    return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  #key(name: string): string {
    const key = path.join(this.dir, `${name}.key`);
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
    return key;
  }
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

// ---------------------------------------------------------------------------------------------
// The real WebEx listener with a real codec and an engine stand-in that counts what reaches it.
// ---------------------------------------------------------------------------------------------

export const MUTE = '<W2A_MuteUser MsgID="2" ExtConfID="5512" ExtCallID="77" Mute="1"/>';

export function tspDocument(transId: string, inner = MUTE): string {
  return `<WbxTSPSchema Name="WTSPDOM" Version="1.0"><TransID>${transId}</TransID>${inner}</WbxTSPSchema>`;
}

export class CountingEngine {
  accepted = 0;
  failWith: Error | undefined;
  accept = async (): Promise<ConfirmationResult> => {
    this.accepted += 1;
    if (this.failWith) throw this.failWith;
    return CONFIRMATION.OK;
  };
}

export const TEST_MAX_BODY_BYTES = 8_192;
const codecs = new Map<number, Promise<TspCodec>>();

/** One codec per body limit per process; its WbxHostName allow-list is https://127.0.0.1. */
export function testCodec(maxBodyBytes = TEST_MAX_BODY_BYTES): Promise<TspCodec> {
  let codec = codecs.get(maxBodyBytes);
  if (!codec) {
    codec = createCodec({ maxBodyBytes, maxCommands: 10, isAllowedWbxHost: compileAllowedHosts(['https://127.0.0.1']) });
    codecs.set(maxBodyBytes, codec);
  }
  return codec;
}

export type ListenerOverrides = Partial<Omit<WebexListenerOptions, 'codec' | 'accept' | 'logger'>> & Pick<WebexListenerOptions, 'tls'>;

/** A listening WebexListener on loopback (127.0.0.1 unless `host` says ::1). */
export async function startListener(engine: CountingEngine, overrides: ListenerOverrides): Promise<{ listener: WebexListener; url: string }> {
  const listener = new WebexListener({
    host: '127.0.0.1',
    port: 0,
    path: '/tsp',
    timeouts: { headersMs: 5_000, requestMs: 10_000, keepAliveMs: 5_000 },
    logger: silentLogger,
    maxBodyBytes: overrides.maxBodyBytes ?? TEST_MAX_BODY_BYTES,
    codec: await testCodec(overrides.maxBodyBytes),
    accept: engine.accept,
    ...overrides,
  });
  return { listener, url: await listener.listen() };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The Confirmation's Result, read with a pattern so the test does not trust the codec. */
  result: number | undefined;
  peerFingerprint: string | undefined;
}

export interface PostOptions {
  ca: string;
  body?: string | Buffer;
  headers?: Record<string, string | number>;
  client?: Pem;
  agent?: https.Agent;
  method?: string;
  path?: string;
}

export function post(url: string, options: PostOptions): Promise<Reply> {
  const target = new URL(url);
  if (options.path) target.pathname = options.path;
  return new Promise((resolve, reject) => {
    const req = https.request(
      target,
      {
        method: options.method ?? 'POST',
        ca: options.ca,
        agent: options.agent ?? false,
        headers: { 'content-type': 'text/xml; charset=utf-8', ...options.headers },
        ...(options.client ? { cert: options.client.cert, key: options.client.key } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        const socket = res.socket as TLSSocket;
        const peerFingerprint = socket.getPeerCertificate?.()?.fingerprint256;
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const result = /<Confirmation Result="(\d+)"/.exec(body)?.[1];
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, result: result === undefined ? undefined : Number(result), peerFingerprint });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body ?? tspDocument(`sec-${Math.random().toString(36).slice(2)}`));
  });
}
