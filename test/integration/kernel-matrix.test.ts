// The kernels users run: Debian 12's 6.1 and 6.12 and their PREEMPT_RT builds, booted under qemu with this
// machine's files (test/kernels/guest.ts). In each, every program of every family — ib_core's included
// (modprobe'd in the guest) — loads and attaches on every rung of its ladder with every combination of its
// rodata knobs (test/kernels/loadcheck.ts), so a verifier regression on any of them fails here. The probes'
// winning rungs (`kotel probes`) are printed for the record.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { KERNELS, runInGuest } from '../kernels/guest';
import type { LoadCheckRow } from '../kernels/loadcheck';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const notRoot = process.getuid?.() !== 0;

const COMMAND = [
  'modprobe -a ib_core rdma_cm', // the kernel RDMA family needs ib_core's BTF, its cm tracepoints rdma_cm
  'node dist/test/kernels/loadcheck.js > "$KOTEL_GUEST_OUT/loadcheck.jsonl"',
  'node dist/agent/src/cli.js probes --json > "$KOTEL_GUEST_OUT/probes.json"',
].join(' && ');

for (const kernel of KERNELS) {
  test(`Debian ${kernel}: every program loads and attaches on every rung, with every knob combination`, { skip: notRoot && 'needs root' }, async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), `kotel-matrix-${kernel}-`));
    try {
      const r = await runInGuest(kernel, COMMAND, { timeoutMs: 900_000, outDir: out, cwd: ROOT });
      assert.equal(r.code, 0, `guest ${kernel}: ${r.timedOut ? 'timed out' : `exit ${r.code}`}\n${r.output.slice(-2000)}\nconsole:\n${r.console.slice(-2000)}`);
      const rows = fs.readFileSync(path.join(out, 'loadcheck.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LoadCheckRow);
      const failed = rows.filter((row) => !row.attached).map((row) => `${row.family}/${row.probe} rung ${row.rung} (${row.kind}) knobs ${JSON.stringify(row.knobs)}${row.preallocated ? ' preallocated' : ''}: ${row.reason}`);
      assert.deepEqual(failed, [], `${kernel}: programs the verifier or the attach refused`);
      const families = new Set(rows.map((row) => row.family));
      for (const f of ['tcp', 'sched', 'locks', 'rdma', 'rdma_kernel']) assert.ok(families.has(f), `${kernel}: family ${f} checked`);
      const probes = JSON.parse(fs.readFileSync(path.join(out, 'probes.json'), 'utf8')) as { family: string; probe: string; status: string; hook?: string }[];
      const byHook = new Map<string, string[]>();
      for (const p of probes) byHook.set(p.hook ?? p.status, [...(byHook.get(p.hook ?? p.status) ?? []), `${p.family}/${p.probe}`]);
      console.log(`${kernel}: ${rows.length} loads+attaches in ${r.seconds.toFixed(0)} s (boot included); kotel probes: ${[...byHook].map(([h, ps]) => `${h} ${ps.length}`).join(', ')}`);
      assert.ok(!byHook.has('unavailable'), `${kernel}: unavailable probes: ${byHook.get('unavailable')}`);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
}
