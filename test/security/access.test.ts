import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LogThrottle, REFUSAL_LOG_INTERVAL_MS } from '../../src/adaptor/access/log-throttle.js';
import { MAX_TRACKED_SOURCES, RateLimiter } from '../../src/adaptor/access/rate-limiter.js';
import { cidrProblem, compileSourceAllowList } from '../../src/adaptor/access/source-allow-list.js';
import { parseConfig } from '../../src/adaptor/config.js';

describe('source allow-list (CIDR)', () => {
  const allows = compileSourceAllowList(['192.0.2.0/24', '10.1.2.3', '2001:db8::/32', '::1/128']);
  const cases: [string | undefined, boolean][] = [
    ['192.0.2.7', true],
    ['192.0.3.7', false],
    ['10.1.2.3', true],
    ['10.1.2.4', false],
    ['::ffff:192.0.2.9', true],
    ['::FFFF:10.1.2.3', true],
    ['::ffff:10.1.2.4', false],
    ['2001:db8:ffff::1', true],
    ['2001:db9::1', false],
    ['::1', true],
    ['127.0.0.1', false],
    ['not-an-address', false],
    ['', false],
    [undefined, false],
  ];
  for (const [address, expected] of cases) {
    test(`${String(address)} is ${expected ? 'allowed' : 'refused'}`, () => assert.equal(allows(address), expected));
  }

  test('an empty list allows every source', () => assert.equal(compileSourceAllowList([])('203.0.113.1'), true));

  test('entries that are not CIDR blocks are refused by the configuration with the reason', () => {
    for (const bad of ['192.0.2.0/33', '2001:db8::/129', 'example.com', '192.0.2.0/24/1', '192.0.2.0/x', '']) {
      assert.ok(cidrProblem(bad), bad);
    }
    assert.equal(cidrProblem('0.0.0.0/0'), undefined);
    assert.throws(() => parseConfig({ webex: { allowedSources: ['10.0.0.0/40'] } }), /webex\.allowedSources\.0: has a prefix length outside 0\.\.32/);
  });
});

describe('per-source rate limiter', () => {
  test('a source gets its burst, then one token per 1/rate seconds; sources are independent', () => {
    let now = 0;
    const limiter = new RateLimiter({ ratePerSecond: 2, burst: 3 }, () => now);
    assert.deepEqual([1, 2, 3, 4].map(() => limiter.take('a')), [true, true, true, false]);
    assert.equal(limiter.take('b'), true);
    now += 499;
    assert.equal(limiter.take('a'), false);
    now += 1;
    assert.equal(limiter.take('a'), true);
    now += 60_000;
    assert.deepEqual([1, 2, 3, 4].map(() => limiter.take('a')), [true, true, true, false], 'the bucket never holds more than burst');
  });

  test('the number of tracked sources is bounded', () => {
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 1 }, () => 0);
    for (let i = 0; i < MAX_TRACKED_SOURCES + 50; i += 1) limiter.take(`198.51.${i >> 8}.${i & 255}`);
    assert.equal(limiter.trackedSources, MAX_TRACKED_SOURCES);
  });
});

describe('refusal log throttle', () => {
  test('one line per kind per interval, carrying how many were left out', () => {
    let now = 0;
    const throttle = new LogThrottle<'rate' | 'source'>(() => now);
    assert.deepEqual(throttle.take('rate'), { suppressed: 0 });
    assert.equal(throttle.take('rate'), undefined);
    assert.equal(throttle.take('rate'), undefined);
    assert.deepEqual(throttle.take('source'), { suppressed: 0 }, 'kinds are independent');
    now += REFUSAL_LOG_INTERVAL_MS;
    assert.deepEqual(throttle.take('rate'), { suppressed: 2 });
  });
});
