import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const SCRIPT = fileURLToPath(new URL('../../deploy/install.sh', import.meta.url));
const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));
const run = promisify(execFile);

async function install(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('bash', [SCRIPT, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const exists = (file: string) => access(file).then(() => true, () => false);

/** Never the real system: everything goes to a temporary DESTDIR from a small fake release. */
describe('deploy/install.sh', () => {
  let dir: string;
  let release: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsp-install-'));
    release = path.join(dir, 'release');
    await mkdir(path.join(release, 'dist', 'src'), { recursive: true });
    await mkdir(path.join(release, 'node_modules', 'pino'), { recursive: true });
    await mkdir(path.join(release, 'deploy'), { recursive: true });
    await writeFile(path.join(release, 'package.json'), '{"name":"tsp-adaptor"}\n');
    await writeFile(path.join(release, 'dist', 'src', 'cli.js'), '// built\n');
    await writeFile(path.join(release, 'node_modules', 'pino', 'package.json'), '{}\n');
    await mkdir(path.join(release, 'src', 'adaptor', 'console', 'public'), { recursive: true });
    await writeFile(path.join(release, 'src', 'adaptor', 'console', 'public', 'index.html'), '<!doctype html>\n');
    for (const file of ['tsp-adaptor.service', 'config.example.yaml']) await copyFile(path.join(DEPLOY, file), path.join(release, 'deploy', file));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('the script parses (bash -n)', async () => {
    await run('bash', ['-n', SCRIPT]);
  });

  test('into a DESTDIR, files land where docs/install.md says and host steps are only printed', async () => {
    const root = path.join(dir, 'root');
    const first = await install('--release', release, '--destdir', root);
    assert.equal(first.code, 0, first.stderr);
    for (const file of [
      'opt/tsp-adaptor/dist/src/cli.js',
      'opt/tsp-adaptor/node_modules/pino/package.json',
      'opt/tsp-adaptor/src/adaptor/console/public/index.html',
      'etc/tsp-adaptor/config.yaml',
      'etc/tsp-adaptor/config.example.yaml',
      'etc/systemd/system/tsp-adaptor.service',
      'var/lib/tsp-adaptor',
      'var/log/tsp-adaptor',
    ]) assert.ok(await exists(path.join(root, file)), `${file} installed`);
    const unit = await readFile(path.join(root, 'etc/systemd/system/tsp-adaptor.service'), 'utf8');
    const execStart = /^ExecStart=\S+ (\S+)/m.exec(unit)?.[1];
    assert.equal(execStart, '/opt/tsp-adaptor/dist/src/cli.js', 'the unit starts the file the script installs');
    assert.match(first.stdout, /^\+ \(on the host\) useradd --system .*tsp-adaptor$/m);
    assert.match(first.stdout, /^\+ \(on the host\) systemctl daemon-reload$/m);
    assert.match(first.stdout, /^\+ \(on the host\) systemctl enable tsp-adaptor$/m);

    // An upgrade keeps the operator's configuration and the previous release.
    await writeFile(path.join(root, 'etc/tsp-adaptor/config.yaml'), 'log:\n  level: debug\n');
    const second = await install('--release', release, '--destdir', root);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(await readFile(path.join(root, 'etc/tsp-adaptor/config.yaml'), 'utf8'), 'log:\n  level: debug\n');
    assert.ok(await exists(path.join(root, 'opt/tsp-adaptor.prev/dist/src/cli.js')));
    assert.ok(await exists(path.join(root, 'opt/tsp-adaptor/dist/src/cli.js')));
  });

  test('--dry-run prints the steps and creates nothing', async () => {
    const root = path.join(dir, 'dry');
    const dry = await install('--release', release, '--destdir', root, '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^\+ install -m 0644 .*tsp-adaptor\.service .*\/etc\/systemd\/system\/tsp-adaptor\.service$/m);
    assert.equal(await exists(root), false);
  });

  test('a directory that is not a built release, or an unknown flag, is refused with what to do', async () => {
    const notBuilt = await install('--release', dir, '--dry-run');
    assert.notEqual(notBuilt.code, 0);
    assert.match(notBuilt.stderr, /no package\.json/);
    const unknown = await install('--frobnicate');
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unknown argument: --frobnicate/);
  });
});

test('every systemd unit shipped starts the compiled CLI where the build and install.sh put it', async () => {
  const build = JSON.parse(await readFile(path.join(DEPLOY, '../package.json'), 'utf8')) as { bin: Record<string, string> };
  const cli = `/opt/tsp-adaptor/${build.bin['tsp-adaptor']}`;
  for (const unit of ['tsp-adaptor.service', 'ha/tsp-adaptor@.service']) {
    const text = await readFile(path.join(DEPLOY, unit), 'utf8');
    assert.equal(/^ExecStart=\S+ (\S+)/m.exec(text)?.[1], cli, `${unit} starts ${cli}`);
  }
});
