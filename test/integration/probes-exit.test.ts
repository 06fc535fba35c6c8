// `kotel probes` exit codes, each from a real run on this kernel, as a script would use them: 0 every
// enabled probe attached (families whose module is absent aside), 3 some could not, 4 none did, 2 a bad config.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { runCli, writeConfig } from '../helpers/agentProcess';
import { setprivAs } from '../helpers/systemdUnit';
import { ibCoreUnavailable } from '../../agent/src/probes/rdma/ibCore';
import { defaultFamilyNames } from '../../agent/src/probes/registry';
import { trampolineOnlyMisses } from '../helpers/probesHere';

interface Row {
  family: string;
  probe: string;
  status: string;
  hook?: string;
  reason?: string;
}

/** `kotel probes` as user nobody with exactly these capabilities */
const probesWith = (caps: string[], args: string[] = []) => runCli(['probes', ...args], {}, setprivAs(caps));

const notRoot = process.getuid?.() !== 0;

describe('kotel probes exit codes', { skip: notRoot && 'needs root' }, () => {
  test('0: every enabled probe attached; a family whose kernel module is not here is absent, not a failure', async () => {
    // off: the families with probes this kernel cannot attach (fentry/fexit ones: no BPF trampolines here)
    const off = [...new Set([...(await trampolineOnlyMisses())].map((k) => k.split('/')[0]))];
    const config = writeConfig(`families:\n${off.map((f) => `  ${f}:\n    enabled: false\n`).join('')}`);
    const { code, stdout, stderr } = await runCli(['probes', '--json', '--config', config]);
    const rows = JSON.parse(stdout) as Row[];
    assert.equal(code, 0, `${stderr}\n${stdout}`);
    for (const family of defaultFamilyNames.filter((f) => !off.includes(f)))
      assert.ok(
        rows.filter((r) => r.family === family).every((r) => r.status === 'attached'),
        family,
      );
    const ibCore = ibCoreUnavailable();
    const kernelRows = rows.filter((r) => r.family === 'rdma_kernel');
    assert.ok(kernelRows.length > 0);
    for (const r of kernelRows) {
      if (ibCore?.absent) {
        assert.equal(r.status, 'absent', JSON.stringify(r));
        assert.equal(r.reason, ibCore.reason);
      } else assert.equal(r.status, 'attached', JSON.stringify(r));
    }
  });

  test('3: a library that is no libibverbs leaves the rdma probes unavailable, the rest attached', async () => {
    const config = writeConfig(`families:\n  rdma:\n    library: ${process.execPath}\n`);
    const { code, stdout, stderr } = await runCli(['probes', '--json', '--config', config]);
    assert.equal(code, 3, `${stderr}\n${stdout}`);
    const rows = JSON.parse(stdout) as Row[];
    const rdma = rows.filter((r) => r.family === 'rdma');
    assert.ok(rdma.length > 0 && rdma.every((r) => r.status === 'unavailable' && /cannot resolve ibv_/.test(r.reason ?? '')), stdout);
    assert.ok(rows.filter((r) => r.family === 'tcp').every((r) => r.status === 'attached'));
  });

  test('3: without CAP_SYS_ADMIN the tracepoints attach, the uprobes cannot (the table says why)', async () => {
    const { code, stdout, stderr } = await probesWith(['bpf', 'perfmon']);
    assert.equal(code, 3, `${stderr}\n${stdout}`);
    const lines = stdout.trim().split('\n');
    assert.match(lines[0], /^FAMILY\s+PROBE\s+STATUS/);
    assert.ok(
      lines.some((l) => /^tcp\s+tcp_probe\s+attached/.test(l)),
      stdout,
    );
    assert.ok(
      lines.some((l) => /^rdma\s+ibv_create_qp\s+unavailable\s.*Permission denied/.test(l)),
      stdout,
    );
  });

  test('4: with no capability nothing attaches, every row says what is missing', async () => {
    const { code, stdout, stderr } = await probesWith([], ['--json']);
    assert.equal(code, 4, `${stderr}\n${stdout}`);
    const rows = JSON.parse(stdout) as Row[];
    assert.ok(rows.length > 10);
    for (const r of rows) {
      assert.equal(r.status, 'unavailable');
      assert.match(r.reason ?? '', /needs root/);
    }
  });

  test('2: a bad config is one line naming the key', async () => {
    const config = writeConfig('families:\n  tcp:\n    enabled: maybe\n');
    const { code, stdout, stderr } = await runCli(['probes', '--config', config]);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, /families\.tcp\.enabled/);
  });
});
