// deploy/systemd/kotel.service under a real systemd: systemd-nspawn boots this machine's root file system
// (an overlay, the host untouched) into the unit as install.sh renders it, sharing the host's network. The
// unit goes active only at READY=1 (Type=notify) with the agent's status; its process runs unprivileged with
// exactly the unit's capabilities under every hardening option of the unit; every default family attaches;
// systemctl stop is a clean stop.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../helpers/agentProcess';
import { bootSystemd, type Container } from '../helpers/nspawn';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlpReceiver';
import { probesAttached, renderUnit, setprivAs, UNIT_TEMPLATE, unitCapabilities } from '../helpers/systemdUnit';
import { scaled } from '../helpers/timing';
import { defaultFamilyNames } from '../../agent/src/probes/registry';
import { trampolineOnlyMisses } from '../helpers/probesHere';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const notRoot = process.getuid?.() !== 0;
/** every family on by default: each attaches on every kernel kotel supports */
const DEFAULT_FAMILIES = defaultFamilyNames;

describe('the systemd unit under systemd (nspawn)', { skip: notRoot && 'needs root', timeout: scaled(180_000) }, () => {
  let unit: string;
  let port: number;
  let otlp: OtlpReceiver;
  let container: Container;
  const show = (...props: string[]) =>
    Object.fromEntries(
      container
        .run(['systemctl', 'show', 'kotel', ...props.map((p) => `--property=${p}`)])
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );

  before(async () => {
    port = await freePort();
    otlp = await startOtlpReceiver();
    container = await bootSystemd({
      bindReadOnly: [ROOT],
      capabilities: unitCapabilities(UNIT_TEMPLATE).map((c) => `CAP_${c.toUpperCase()}`),
      prepare: (root) => {
        const config = path.join(root, 'etc', 'kotel', 'kotel.yaml');
        fs.mkdirSync(path.dirname(config), { recursive: true });
        fs.writeFileSync(
          config,
          `otlp:\n  endpoint: http://127.0.0.1:${otlp.grpcPort}\nmetrics:\n  interval: 3000\nprometheus:\n  port: ${port}\n`,
        );
        unit = renderUnit('/etc/systemd/system', '/etc/kotel/kotel.yaml', root).unit;
        assert.match(fs.readFileSync(unit, 'utf8'), /^ExecStart=.* --config \/etc\/kotel\/kotel\.yaml /m);
      },
      unit: 'kotel.service',
    });
  });
  after(async () => {
    await container?.close();
    await otlp?.close();
  });

  test('active once the agent said READY=1, with its status: every probe attached, the first OTLP export done', async () => {
    let state: Record<string, string> = {};
    for (const deadline = Date.now() + scaled(90_000); Date.now() < deadline;) {
      state = show('ActiveState', 'SubState', 'StatusText', 'Result');
      if (state.ActiveState !== 'activating' && state.ActiveState !== 'inactive') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(state.ActiveState, 'active', `${JSON.stringify(state)}\n${container.run(['journalctl', '-u', 'kotel', '-o', 'cat'])}`);
    assert.equal(state.SubState, 'running');
    const m = new RegExp(`^${defaultFamilyNames.join(', ')}: (\\d+) of (\\d+) probes attached; first OTLP export ok$`).exec(
      state.StatusText,
    );
    assert.ok(m && Number(m[2]) - Number(m[1]) === (await trampolineOnlyMisses()).size, state.StatusText);
    assert.ok(otlp.requests().metrics >= 1, 'the OTLP receiver got the export');
  });

  test('the agent runs unprivileged with exactly the unit’s capabilities, no new privileges, a system-call filter', () => {
    const pid = show('MainPID').MainPID;
    const status = container.run(['cat', `/proc/${pid}/status`]);
    const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1];
    assert.notEqual(field('Uid')?.split(/\s+/)[0], '0', 'DynamicUser: not root');
    // the mask setpriv computes for the unit's capabilities
    const [cmd, ...args] = setprivAs(unitCapabilities(unit));
    const own = spawnSync(cmd, [...args, 'cat', '/proc/self/status'], { encoding: 'utf8' }).stdout;
    const mask = /^CapEff:\s*(\w+)$/m.exec(own)?.[1];
    assert.ok(mask && mask !== '0000000000000000');
    for (const set of ['CapEff', 'CapPrm', 'CapBnd', 'CapAmb']) assert.equal(field(set), mask, set);
    assert.equal(field('NoNewPrivs'), '1');
    assert.equal(field('Seccomp'), '2');
  });

  test('kotel.probe.attached is 1 for every probe of every default family (but fentry/fexit ones this kernel cannot attach)', async () => {
    const attached = await probesAttached(port, Date.now() + scaled(10_000));
    const cannot = await trampolineOnlyMisses();
    for (const family of DEFAULT_FAMILIES) {
      const mine = [...attached].filter(([k]) => k.startsWith(`${family}/`));
      assert.ok(mine.length > 0, `${family}: ${[...attached.keys()].join(', ')}`);
      assert.deepEqual(
        mine.filter(([k, v]) => v !== 1 && !cannot.has(k)),
        [],
        family,
      );
    }
  });

  test('systemctl stop: a clean stop, the programs detached', () => {
    container.run(['systemctl', 'stop', 'kotel']);
    const state = show('ActiveState', 'Result', 'ExecMainStatus');
    assert.deepEqual(state, { ActiveState: 'inactive', Result: 'success', ExecMainStatus: '0' });
    const journal = container.run(['journalctl', '-u', 'kotel', '-o', 'cat']);
    assert.match(journal, /SIGTERM: shutting down/);
    assert.match(journal, /programs detached/);
  });
});
