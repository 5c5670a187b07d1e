import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { allowedHostProblem, compileAllowedHosts } from '../../src/adaptor/http/allowed-hosts.js';

describe('webex.allowedHosts', () => {
  const allows = compileAllowedHosts([
    'https://127.0.0.1',
    'http://[::1]',
    '*.webex.example.com',
    'https://tsp.example.com:443/a2w',
    'tsp2.example.com:9443',
  ]);

  const cases: [string, boolean][] = [
    ['https://127.0.0.1:9999/anything', true],
    ['https://127.0.0.1.evil.example.net/', false],
    ['http://127.0.0.1/', false],
    ['http://[::1]:8080/a2w', true],
    ['https://a.webex.example.com/a2w', true],
    ['https://webex.example.com/a2w', false],
    ['http://a.webex.example.com/a2w', false],
    ['https://tsp.example.com/a2w', true],
    ['https://tsp.example.com/a2w/deeper', true],
    ['https://tsp.example.com/a2wx', false],
    ['https://tsp.example.com:8443/a2w', false],
    ['https://tsp2.example.com:9443/', true],
    ['https://tsp2.example.com/', false],
    ['https://user:pass@127.0.0.1/', false],
    ['not a url', false],
  ];
  for (const [url, expected] of cases) {
    test(`${url} is ${expected ? 'allowed' : 'refused'}`, () => assert.equal(allows(url), expected));
  }

  test('entries that cannot be matched safely are refused with the reason', () => {
    assert.match(String(allowedHostProblem('https://x.example.com/?q=1')), /query/);
    assert.match(String(allowedHostProblem('https://u:p@x.example.com')), /user name/);
    assert.match(String(allowedHostProblem('ftp://x.example.com')), /URL prefix/);
    assert.equal(allowedHostProblem('*.example.com:443'), undefined);
  });
});
