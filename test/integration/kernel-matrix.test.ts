// The kernels users run: Debian 12's 6.1 and 6.12 and their PREEMPT_RT builds, booted under qemu with this
// machine's files (test/kernels/guest.ts). In each, every program of every family — ib_core's included
// (modprobe'd in the guest) — loads and attaches on every rung of its ladder with every combination of its
// rodata knobs (test/kernels/loadcheck.ts), so a verifier regression on any of them fails here. The probes'
// winning rungs (`kotel probes`) are printed for the record. In the 6.1 and 6.12 guests the RDMA families
// also run on a real ib_core: the Soft-RoCE suite (test/integration/rdma-soft-roce.test.ts).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { families as registered } from '../../agent/src/probes/registry';
import { KERNELS, runInGuest } from '../kernels/guest';
import type { LoadCheckRow } from '../kernels/loadcheck';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const notRoot = process.getuid?.() !== 0;

const LOADCHECK = [
  'modprobe -a ib_core rdma_cm', // the kernel RDMA families need ib_core's BTF and rdma_cm's
  'node dist/test/kernels/loadcheck.js > "$KOTEL_GUEST_OUT/loadcheck.jsonl"',
  'node dist/agent/src/cli.js probes --json > "$KOTEL_GUEST_OUT/probes.json"',
].join(' && ');
// first, before any RDMA module is loaded (it loads rdma_cm after the agent started); its own verdict
const SOFT_ROCE =
  'KOTEL_TEST_SOFT_ROCE=1 KOTEL_TEST_TIME_SCALE=3 node --test dist/test/integration/rdma-soft-roce.test.js > "$KOTEL_GUEST_OUT/soft-roce.tap" 2>&1; echo $? > "$KOTEL_GUEST_OUT/soft-roce.rc"';
/** the kernels whose guests also run the Soft-RoCE suite (test/integration/rdma-soft-roce.test.ts) */
const SOFT_ROCE_KERNELS = new Set(['6.1', '6.12']);

for (const kernel of KERNELS) {
  const softRoce = SOFT_ROCE_KERNELS.has(kernel);
  const title = `Debian ${kernel}: every program loads and attaches on every rung, with every knob combination${softRoce ? '; the RDMA families on Soft-RoCE' : ''}`;
  test(title, { skip: notRoot && 'needs root' }, async (t) => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), `kotel-matrix-${kernel}-`));
    try {
      const command = softRoce ? `${SOFT_ROCE}; ${LOADCHECK}` : LOADCHECK;
      const r = await runInGuest(kernel, command, { timeoutMs: 1_500_000, outDir: out, cwd: ROOT });
      assert.equal(
        r.code,
        0,
        `guest ${kernel}: ${r.timedOut ? 'timed out' : `exit ${r.code}`}\n${r.output.slice(-2000)}\nconsole:\n${r.console.slice(-2000)}`,
      );
      const rows = fs
        .readFileSync(path.join(out, 'loadcheck.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as LoadCheckRow);
      const failed = rows
        .filter((row) => !row.attached)
        .map(
          (row) =>
            `${row.family}/${row.probe} rung ${row.rung} (${row.kind}) knobs ${JSON.stringify(row.knobs)}${row.preallocated ? ' preallocated' : ''}: ${row.reason}`,
        );
      assert.deepEqual(failed, [], `${kernel}: programs the verifier or the attach refused`);
      const families = new Set(rows.map((row) => row.family));
      for (const { name } of registered) assert.ok(families.has(name), `${kernel}: family ${name} checked`);
      const probes = JSON.parse(fs.readFileSync(path.join(out, 'probes.json'), 'utf8')) as {
        family: string;
        probe: string;
        status: string;
        hook?: string;
      }[];
      // per family, how many probes won each hook: "tcp tp_btf 3; rdma uprobe 12 uretprobe 12; ..."
      const hooks = new Map<string, Map<string, number>>();
      for (const p of probes) {
        const h = hooks.get(p.family) ?? hooks.set(p.family, new Map()).get(p.family)!;
        h.set(p.hook ?? p.status, (h.get(p.hook ?? p.status) ?? 0) + 1);
      }
      const summary = [...hooks].map(([f, h]) => `${f} ${[...h].map(([k, n]) => `${k} ${n}`).join(' ')}`).join('; ');
      console.log(`${kernel}: ${rows.length} loads+attaches in ${r.seconds.toFixed(0)} s (boot included); kotel probes: ${summary}`);
      const unavailable = probes.filter((p) => p.status === 'unavailable').map((p) => `${p.family}/${p.probe}`);
      assert.deepEqual(unavailable, [], `${kernel}: unavailable probes`);
      if (softRoce) {
        await t.test(`Debian ${kernel}: Soft-RoCE suite`, () => {
          const tap = fs.readFileSync(path.join(out, 'soft-roce.tap'), 'utf8');
          const rc = fs.readFileSync(path.join(out, 'soft-roce.rc'), 'utf8').trim();
          const failures = tap.split('\n').filter((l) => /^\s*not ok|^\s+error:/.test(l));
          assert.equal(rc, '0', `${kernel}: rdma-soft-roce.test.js exit ${rc}:\n${failures.join('\n')}\n${tap.slice(-3000)}`);
          assert.match(tap, /^# pass [1-9]/m, 'the suite ran its tests');
          assert.match(tap, /^# skipped 0$/m, 'nothing skipped');
        });
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
}
