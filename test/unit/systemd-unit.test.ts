// deploy/systemd/kotel.service as its install script renders it for this checkout: systemd's own checker
// (systemd-analyze verify) finds nothing to say, ExecStart= runs this checkout's build with the given config,
// and the script's bad input is one line.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { onPath, tool } from '../helpers/tools';
import { execStart, INSTALL_SCRIPT, renderUnit, serviceDirectives, unitCapabilities } from '../helpers/systemdUnit';

const ROOT = path.resolve(__dirname, '..', '..', '..');

function withDir<T>(fn: (dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-unit-'));
  try {
    return fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('the rendered unit passes systemd-analyze verify without a warning', () =>
  withDir((dir) => {
    const config = path.join(dir, 'kotel.yaml');
    const { unit, output } = renderUnit(dir, config);
    assert.match(output, /wrote .*kotel\.yaml \(the shipped defaults/, 'a missing config is the shipped one');
    assert.equal(fs.readFileSync(config, 'utf8'), fs.readFileSync(path.join(ROOT, 'config', 'kotel.yaml'), 'utf8'));
    assert.match(output, /systemctl daemon-reload && systemctl enable --now kotel/);
    const r = spawnSync(tool('systemd-analyze'), ['verify', unit], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(`${r.stdout}${r.stderr}`.trim(), '', 'systemd-analyze verify says nothing');
    assert.doesNotMatch(fs.readFileSync(unit, 'utf8'), /@[A-Z]+@/, 'no placeholder left');
  }));

test('ExecStart= runs this checkout’s agent with node and the config, without the console report', () =>
  withDir((dir) => {
    const config = path.join(dir, 'my.yaml');
    fs.writeFileSync(config, 'log:\n  level: warn\n');
    const { unit } = renderUnit(dir, config);
    assert.deepEqual(execStart(unit), [
      onPath('node'),
      path.join(ROOT, 'dist', 'agent', 'src', 'cli.js'),
      'run',
      '--config',
      config,
      '--no-console',
    ]);
    assert.equal(fs.readFileSync(config, 'utf8'), 'log:\n  level: warn\n', 'an existing config is kept');
    const d = serviceDirectives(unit);
    assert.deepEqual(d.get('Type'), ['notify']);
    assert.deepEqual(d.get('DynamicUser'), ['yes']);
    assert.ok(unitCapabilities(unit).includes('sys_admin'));
    // V8 writes and then runs its compiled code: the JIT cannot work with it
    assert.equal(d.get('MemoryDenyWriteExecute'), undefined);
  }));

test('install.sh: bad input is one line naming it, exit 2', () =>
  withDir((dir) => {
    for (const [args, message] of [
      [['--bogus'], /^kotel install: unknown option '--bogus' \(use --config FILE, --unit-dir DIR, --root DIR, --no-start\)$/],
      [['--config', 'relative.yaml'], /^kotel install: --config relative\.yaml: give an absolute path$/],
    ] as const) {
      const r = spawnSync(tool('bash'), [INSTALL_SCRIPT, '--unit-dir', dir, '--no-start', ...args], { encoding: 'utf8' });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr.trim(), message);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    }
    assert.deepEqual(fs.readdirSync(dir), [], 'nothing written');
  }));
