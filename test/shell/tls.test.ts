import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { loadCertificate } from '../../src/adaptor/tls.js';
import { testKeyPair } from './support.js';

describe("the WebEx listener's certificate", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsp-tls-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('without files a self-signed loopback certificate is generated once, then reused', async () => {
    const first = await loadCertificate({}, dir);
    assert.equal(first.origin, 'generated');
    const cert = new X509Certificate(first.keyPair.cert);
    assert.ok(cert.checkIP('127.0.0.1'));
    assert.ok(cert.checkHost('localhost'));
    assert.equal((await stat(path.join(dir, 'tls', 'webex-key.pem'))).mode & 0o077, 0, 'the key is readable by its owner only');
    const second = await loadCertificate({}, dir);
    assert.equal(second.origin, 'reused');
    assert.equal(second.keyPair.cert, first.keyPair.cert);
  });

  test('configured files are used as they are; a missing one names its key', async () => {
    const keyPair = await testKeyPair();
    const certFile = path.join(dir, 'cert.pem');
    const keyFile = path.join(dir, 'key.pem');
    await writeFile(certFile, keyPair.cert);
    await writeFile(keyFile, keyPair.key, { mode: 0o600 });
    const loaded = await loadCertificate({ certFile, keyFile }, dir);
    assert.equal(loaded.origin, 'configured');
    assert.equal(loaded.keyPair.key, keyPair.key);
    await assert.rejects(loadCertificate({ certFile, keyFile: path.join(dir, 'missing.pem') }, dir), /^Error: webex\.tls\.keyFile: cannot read/);
  });

  test('a key file readable by group or others stops the load, naming the file and the chmod', async () => {
    const keyPair = await testKeyPair();
    const certFile = path.join(dir, 'cert.pem');
    const keyFile = path.join(dir, 'open-key.pem');
    await writeFile(certFile, keyPair.cert);
    await writeFile(keyFile, keyPair.key, { mode: 0o640 });
    await chmod(keyFile, 0o640);
    await assert.rejects(loadCertificate({ certFile, keyFile }, dir), (err: Error) => {
      assert.equal(err.name, 'SecretFileModeError');
      assert.ok(err.message.includes(`chmod 600 ${keyFile}`), err.message);
      assert.ok(!err.message.includes('PRIVATE KEY'));
      return true;
    });
  });
});
