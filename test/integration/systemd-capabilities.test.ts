// The agent as deploy/systemd/kotel.service runs it, without systemd: the unit's ExecStart= as a user other
// than root holding exactly the unit's capabilities (setpriv; the set is read from the unit file). Every
// default family's probes attach (`kotel probes` and kotel.probe.attached); and each capability is needed:
// without it, what it is there for fails.
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, runCli } from '../helpers/agentProcess';
import { execStart, probesAttached, renderUnit, setprivAs, unitCapabilities } from '../helpers/systemdUnit';
import { scaled } from '../helpers/timing';
import { defaultFamilyNames } from '../../agent/src/probes/registry';
import { trampolineOnlyMisses } from '../helpers/probesHere';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const notRoot = process.getuid?.() !== 0;
/** every family on by default: each attaches on every kernel kotel supports */
const DEFAULT_FAMILIES = defaultFamilyNames;

interface Row {
  family: string;
  probe: string;
  status: string;
  reason?: string;
}

/** `node -e script` as nobody with exactly `caps`: its stdout */
function nodeWith(caps: string[], script: string): string {
  const [cmd, ...args] = setprivAs(caps);
  const r = spawnSync(cmd, [...args, process.execPath, '-e', script], { encoding: 'utf8', cwd: ROOT });
  if (r.status !== 0) throw new Error(`node -e as nobody with ${caps.join(',')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
}

// what the agent does that each capability is for, as scripts run from the checkout
const probeScript = `
  const { BpfObject } = require('./dist/agent/src/native');
  const { families } = require('./dist/agent/src/probes/registry');
  const { familyOpenOptions, objectPath } = require('./dist/agent/src/probes/load');
  const { loadConfig } = require('./dist/agent/src/config');
  const config = loadConfig({});
  const attached = families.filter((f) => f.name === 'rdma' || f.name === 'locks').every((f) => {
    try {
      const o = BpfObject.open(objectPath(config, f), familyOpenOptions(config, f));
      o.close();
      return o.attachments.every((a) => a.attached);
    } catch {
      return false;
    }
  });
  console.log(attached ? 'attached' : 'not attached');`;
const kallsymsScript = `console.log(require('./dist/agent/src/probes/locks/kallsyms').KernelSymbols.load().available)`;
const rootScript = `try { require('fs').readdirSync('/proc/${process.pid}/root/'); console.log('read') } catch (e) { console.log(e.code) }`;
const tpRungScript = `
  const { BpfObject } = require('./dist/agent/src/native');
  const o = BpfObject.open('bpf/.output/sched.bpf.o', { ladders: { sched_switch: [{ program: 'sched_switch_tp', kind: 'tp' }] } });
  console.log(o.attachments[0].attached ? 'attached' : o.attachments[0].failures[0].reason);
  o.close();`;

describe('the systemd unit’s capabilities, as a user other than root', { skip: notRoot && 'needs root' }, () => {
  let dir: string;
  let unit: string;
  let caps: string[];
  let port: number;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-caps-'));
    fs.chmodSync(dir, 0o755); // nobody reads the config
    port = await freePort();
    const config = path.join(dir, 'kotel.yaml');
    fs.writeFileSync(config, `otlp:\n  enabled: false\nprometheus:\n  port: ${port}\n`);
    fs.chmodSync(config, 0o644);
    unit = renderUnit(dir, config).unit;
    caps = unitCapabilities(unit);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('kotel probes attaches every probe of every default family as root does (exit 0, or 3 for fentry/fexit ones this kernel cannot)', async () => {
    const cannot = await trampolineOnlyMisses();
    const { code, stdout, stderr } = await runCli(['probes', '--json'], {}, setprivAs(caps));
    assert.equal(code, cannot.size ? 3 : 0, `${stderr}\n${stdout}`);
    const rows = JSON.parse(stdout) as Row[];
    for (const family of DEFAULT_FAMILIES) {
      const mine = rows.filter((r) => r.family === family);
      assert.ok(mine.length > 0, family);
      for (const r of mine)
        if (!cannot.has(`${family}/${r.probe}`)) assert.equal(r.status, 'attached', `${family}/${r.probe}: ${r.reason}`);
    }
  });

  test('the unit’s ExecStart= exports kotel.probe.attached 1 for every probe of every default family (but fentry/fexit ones this kernel cannot attach)', async () => {
    const cannot = await trampolineOnlyMisses();
    const [cmd, ...args] = setprivAs(caps);
    const child = spawn(cmd, [...args, ...execStart(unit)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const attached = await probesAttached(port, Date.now() + scaled(30_000));
      for (const family of DEFAULT_FAMILIES) {
        const mine = [...attached].filter(([k]) => k.startsWith(`${family}/`));
        assert.ok(mine.length > 0, `${family} reported: ${[...attached.keys()].join(', ')}`);
        assert.deepEqual(
          mine.filter(([k, v]) => v !== 1 && !cannot.has(k)),
          [],
          `${family}: every probe attached`,
        );
      }
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, stderr);
  });

  // what each capability of the unit is for, shown by taking it away
  // [capability, what it is for, the check, what a unit without it would grant instead]
  const NEEDS: Array<[string, string, (caps: string[]) => boolean, string[]]> = [
    [
      'sys_admin',
      'uprobes (rdma) and BTF object ids (libbpf 1.1 walks them for the locks CO-RE): CAP_BPF + CAP_PERFMON are not enough',
      (set) => nodeWith(set, probeScript) === 'attached',
      ['bpf', 'perfmon'],
    ],
    ['syslog', '/proc/kallsyms addresses (lock.symbol)', (set) => nodeWith(set, kallsymsScript) === 'true', []],
    [
      'sys_ptrace',
      "another user's /proc/PID/root (the libibverbs copies that running processes map)",
      (set) => nodeWith(set, rootScript) === 'read',
      [],
    ],
    ['dac_read_search', 'tracefs, 0700 root (the classic-tracepoint rung)', (set) => nodeWith(set, tpRungScript) === 'attached', []],
  ];
  for (const [cap, why, works, instead] of NEEDS) {
    test(`CAP_${cap.toUpperCase()}: ${why}`, () => {
      assert.ok(caps.includes(cap), `the unit grants CAP_${cap.toUpperCase()}`);
      assert.equal(works(caps), true, 'with the unit’s set');
      assert.equal(works([...caps.filter((c) => c !== cap), ...instead]), false, `without CAP_${cap.toUpperCase()}`);
    });
  }
  test('the unit grants nothing these checks do not need', () => {
    assert.deepEqual([...caps].sort(), NEEDS.map(([c]) => c).sort());
  });
});
