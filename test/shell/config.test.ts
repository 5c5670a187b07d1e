import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { ConfigError, LOOPBACK_WEBEX_HOSTS, configKeyPaths, loadConfig, parseConfig } from '../../src/adaptor/config.js';
import { DEFAULT_ENGINE_OPTIONS } from '../../src/adaptor/options.js';

const EXAMPLE = new URL('../../deploy/config.example.yaml', import.meta.url);
const DOCS = new URL('../../docs/configuration.md', import.meta.url);

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('expected the configuration to be refused');
}

/**
 * Key paths written in a YAML text, commented-out keys included (`# key: value` at the
 * indentation the key would have), list items as `name[]`.
 */
function keyPathsIn(text: string): Set<string> {
  const found = new Set<string>();
  const stack: { indent: number; name: string }[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^(\s*)# ?/, '$1');
    const match = /^(\s*)(- )?([A-Za-z][A-Za-z0-9]*):(\s|$)/.exec(line);
    if (!match) continue;
    let indent = match[1]!.length;
    if (match[2]) {
      while (stack.length && stack[stack.length - 1]!.indent >= indent) stack.pop();
      const parent = stack[stack.length - 1];
      if (parent && !parent.name.endsWith('[]')) parent.name += '[]';
      indent += 2;
    }
    while (stack.length && stack[stack.length - 1]!.indent >= indent) stack.pop();
    stack.push({ indent, name: match[3]! });
    found.add(stack.map((s) => s.name).join('.'));
  }
  return found;
}

describe('configuration', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsp-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('no file at all gives the embedded defaults: SQLite under ./var, emulator on, loopback hosts', async () => {
    const config = await loadConfig({ env: {} });
    assert.equal(config.store.kind, 'sqlite');
    assert.equal(config.store.dataDir, './var');
    assert.equal(config.webex.host, '127.0.0.1');
    assert.equal(config.webex.port, 8443);
    assert.equal(config.webex.path, '/tsp');
    assert.deepEqual(config.webex.allowedHosts, LOOPBACK_WEBEX_HOSTS);
    assert.equal(config.emulator.enabled, true);
    assert.deepEqual(config.bridges, []);
    assert.equal(config.log.level, 'info');
    assert.equal(config.transIdRetentionMs, DEFAULT_ENGINE_OPTIONS.transIdRetentionMs);
    assert.deepEqual(config.dialOut.blockedPrefixes, DEFAULT_ENGINE_OPTIONS.dialOut.blockedPrefixes);
  });

  test('a file sets keys; the rest keep their defaults; bridges turn the emulator off', async () => {
    const file = path.join(dir, 'bridges.yaml');
    await writeFile(
      file,
      [
        'webex:',
        '  port: 9443',
        'bridges:',
        '  - { id: a, driver: voyant2035, host: 10.0.0.1, port: 7035, username: u, password: p }',
      ].join('\n'),
    );
    const config = await loadConfig({ file, env: {} });
    assert.equal(config.webex.port, 9443);
    assert.equal(config.webex.maxBodyBytes, 65536);
    assert.equal(config.emulator.enabled, false);
    assert.equal(config.bridges[0]?.heartbeatIntervalMs, 5000);
  });

  test('TSP_ variables override the file, nested by __, JSON for lists', async () => {
    const file = path.join(dir, 'port.yaml');
    await writeFile(file, 'webex:\n  port: 9443\n');
    const config = await loadConfig({
      file,
      env: {
        TSP_WEBEX__PORT: '18443',
        TSP_OUTBOX__MAX_AGE_MS: '600000',
        TSP_WEBEX__ALLOWED_HOSTS: '["https://tsp.example.com"]',
        TSP_INSTANCE__ID: '12345',
        TSP_WEBEX__TLS__TRUST_LOOPBACK_PEERS: 'false',
        PATH: '/usr/bin',
      },
    });
    assert.equal(config.webex.port, 18443);
    assert.equal(config.outbox.maxAgeMs, 600000);
    assert.deepEqual(config.webex.allowedHosts, ['https://tsp.example.com']);
    assert.equal(config.instance.id, '12345', 'a string key keeps digits as text');
    assert.equal(config.webex.tls.trustLoopbackPeers, false);
  });

  test('errors name the key path, what is wrong, and the variable a value came from', () => {
    const problems = problemsOf(() =>
      parseConfig(
        { webex: { port: 'https', prot: 1 }, store: { kind: 'mongodb' }, bridges: [{ id: 'a' }] },
        { env: { TSP_LOG__LEVEL: 'loud' } },
      ),
    );
    const text = problems.join('\n');
    assert.match(text, /^webex\.port: expected number, got "https"$/m);
    assert.match(text, /^webex\.prot: unknown key; known keys here: host, port, path/m);
    assert.match(text, /^store\.kind: must be one of "sqlite", "memory", "redis", got "mongodb"$/m);
    assert.match(text, /^bridges\.0\.host: required/m);
    assert.match(text, /^log\.level: must be one of .* \(from TSP_LOG__LEVEL\)$/m);
  });

  test('an unknown environment key or unreadable JSON is refused with the variable name', () => {
    const problems = problemsOf(() =>
      parseConfig({}, { env: { TSP_WEBEX__PROT: '1', TSP_WEBEX__ALLOWED_HOSTS: '[oops' } }),
    );
    assert.match(problems.join('\n'), /TSP_WEBEX__PROT: no key "prot" under webex; known keys at webex: host/);
    assert.match(problems.join('\n'), /TSP_WEBEX__ALLOWED_HOSTS: webex\.allowedHosts takes JSON here/);
  });

  test('rules between keys: a certificate without its key, duplicate bridge ids, no bridge at all', () => {
    const bridge = { id: 'a', driver: 'voyant2313', host: 'h', port: 1, username: 'u', password: 'p' };
    const problems = problemsOf(() =>
      parseConfig({ webex: { tls: { certFile: '/c.pem' } }, bridges: [bridge, bridge] }),
    );
    assert.match(problems.join('\n'), /^webex\.tls: set both certFile and keyFile/m);
    assert.match(problems.join('\n'), /^bridges\.1\.id: "a" is used by an earlier bridge/m);
    assert.match(
      problemsOf(() => parseConfig({ emulator: { enabled: false } })).join('\n'),
      /^bridges: no bridge configured and emulator\.enabled is false/m,
    );
  });

  test('an allowed host that is not a URL prefix or host pattern is refused', () => {
    const problems = problemsOf(() => parseConfig({ webex: { allowedHosts: ['https://x.example.com/?q=1', 'not a host'] } }));
    assert.match(problems.join('\n'), /^webex\.allowedHosts\.0: must not carry a query/m);
    assert.match(problems.join('\n'), /^webex\.allowedHosts\.1: must be a URL prefix/m);
  });

  test('a YAML syntax error is reported with the file name', async () => {
    const file = path.join(dir, 'broken.yaml');
    await writeFile(file, 'webex:\n  port: [1\n');
    await assert.rejects(loadConfig({ file, env: {} }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /broken\.yaml/);
      assert.match(err.problems[0]!, /^YAML: /);
      return true;
    });
  });

  test('the configuration is frozen after validation', () => {
    const config = parseConfig({});
    assert.ok(Object.isFrozen(config.webex.tls));
    assert.ok(Object.isFrozen(config.webex.allowedHosts));
    assert.throws(() => {
      (config.webex as { port: number }).port = 1;
    }, TypeError);
  });

  test('deploy/config.example.yaml validates, shows the embedded defaults and documents every key', async () => {
    const text = await readFile(EXAMPLE, 'utf8');
    const config = parseConfig(parse(text) as unknown, { env: {} });
    assert.deepEqual(config, parseConfig({}, { env: {} }), 'the values shown are the embedded defaults');
    const written = keyPathsIn(text);
    const missing = configKeyPaths().filter((key) => !written.has(key));
    assert.deepEqual(missing, [], 'keys missing from the example file');
  });

  test('docs/configuration.md names every key of the schema', async () => {
    const text = await readFile(DOCS, 'utf8');
    const missing = configKeyPaths().filter((key) => !text.includes(`\`${key}\``));
    assert.deepEqual(missing, [], 'keys missing from docs/configuration.md');
  });
});
