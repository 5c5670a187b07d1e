import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { createLogger, maskPhoneNumber, withContext } from '../../src/adaptor/log.js';

/** A destination that keeps every line, parsed. */
function capture(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, stream };
}

describe('logs', () => {
  test('a phone number keeps its shape and only its last four digits', () => {
    assert.equal(maskPhoneNumber('1,408,5550100'), '*,***,***0100');
    assert.equal(maskPhoneNumber('123'), '123');
    assert.equal(maskPhoneNumber('+44 20 7946 0018'), '+** ** **** 0018');
  });

  test('phone numbers are masked and secrets redacted wherever they sit in a line', async () => {
    const { lines, stream } = capture();
    const { logger } = createLogger({ level: 'info', destination: stream });
    logger.info(
      {
        message: { type: 'W2A_Callout', PhoneNumber: '1,408,5550100', MsgID: '7' },
        callerId: '4085550123',
        bridge: { id: 'a', password: 'hunter2' },
        tls: { key: '-----BEGIN PRIVATE KEY-----' },
        hybrid: { sdkToken: 'abc' },
      },
      'dialling',
    );
    await new Promise((resolve) => setImmediate(resolve));
    const line = lines[0]!;
    const text = JSON.stringify(line);
    assert.doesNotMatch(text, /5550100|4085550123|hunter2|PRIVATE KEY|"abc"/);
    assert.deepEqual(line.message, { type: 'W2A_Callout', PhoneNumber: '*,***,***0100', MsgID: '7' });
    assert.equal(line.callerId, '******0123');
    assert.deepEqual(line.bridge, { id: 'a', password: '[redacted]' });
  });

  test('child loggers carry the TSP ids, leaving out the unknown ones', async () => {
    const { lines, stream } = capture();
    const { logger } = createLogger({ level: 'info', destination: stream });
    withContext(logger, { TransID: 't-1', MsgID: '9', ExtConfID: '5512', ExtCallID: undefined, bridge: 'a' }).info('x');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(lines[0]!.TransID, 't-1');
    assert.equal(lines[0]!.MsgID, '9');
    assert.equal(lines[0]!.ExtConfID, '5512');
    assert.equal(lines[0]!.bridge, 'a');
    assert.ok(!('ExtCallID' in lines[0]!));
  });

  test('the level changes at run time, for children made before the change too', async () => {
    const { lines, stream } = capture();
    const root = createLogger({ level: 'info', destination: stream });
    const child = withContext(root.logger, { ExtConfID: '1' });
    child.debug('hidden');
    root.setLevel('debug');
    assert.equal(root.level, 'debug');
    child.debug('shown');
    root.setLevel('silent');
    child.error('hidden too');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(lines.map((l) => l.msg), ['shown']);
  });
});
