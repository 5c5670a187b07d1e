/**
 * Shared by the shell and end-to-end tests: one self-signed certificate per test process, a
 * bare HTTPS POST that does not go through the code under test, and a silent logger.
 */
import https from 'node:https';
import pino, { type Logger } from 'pino';
import { WebexListener, type WebexListenerOptions } from '../../src/adaptor/http/webex-listener.js';
import { generateSelfSigned, type KeyPair } from '../../src/adaptor/tls.js';

let keyPair: Promise<KeyPair> | undefined;

/** Generated once per process: RSA key generation is the slowest thing these tests do. */
export function testKeyPair(): Promise<KeyPair> {
  keyPair ??= generateSelfSigned('tsp-test');
  return keyPair;
}

export const silentLogger: Logger = pino({ level: 'silent' });

/** The WebEx endpoint on 127.0.0.1, an ephemeral port and `/tsp`, with the test certificate. */
export async function startTestListener(
  options: Pick<WebexListenerOptions, 'codec' | 'accept'> & { maxBodyBytes?: number },
): Promise<{ listener: WebexListener; url: string; ca: string }> {
  const keyPair = await testKeyPair();
  const listener = new WebexListener({
    tls: keyPair,
    host: '127.0.0.1',
    port: 0,
    path: '/tsp',
    timeouts: { headersMs: 5_000, requestMs: 10_000, keepAliveMs: 5_000 },
    logger: silentLogger,
    maxBodyBytes: 65_536,
    ...options,
  });
  return { listener, url: await listener.listen(), ca: keyPair.cert };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request on a fresh connection, trusting the given certificate. */
export function request(
  url: string,
  options: { method?: string; body?: string | Buffer; headers?: Record<string, string | number>; ca: string },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      { method: options.method ?? 'POST', ca: options.ca, agent: false, headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The Result of a Confirmation body, read with a pattern so the test does not trust the codec. */
export function confirmationResult(body: string): { transId: string; result: number } {
  const transId = /<TransID>([^<]*)<\/TransID>/.exec(body)?.[1];
  const result = /<Confirmation Result="(\d+)"/.exec(body)?.[1];
  if (transId === undefined || result === undefined) throw new Error(`not a Confirmation: ${body}`);
  return { transId, result: Number(result) };
}

export function tspDocument(transId: string, inner: string, version = '1.0'): string {
  return `<WbxTSPSchema Name="WTSPDOM" Version="${version}"><TransID>${transId}</TransID>${inner}</WbxTSPSchema>`;
}
