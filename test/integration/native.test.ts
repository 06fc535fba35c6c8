// The native addon against the running kernel (root): rung ladders, knobs, counters in a per-CPU hash, map
// reads and deletes, run-time stats, close() and errors, on test/fixtures/bpf/addon_fixture.bpf.c. Ring
// buffers: native-ring.test.ts; uprobes, symbols and file ids: native-uprobe.test.ts.
import { KERNEL_DROP_REASONS } from '../../agent/src/kernel/drops';
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { BpfObject, native, type AttachReport } from '../../agent/src/native';
import { tool } from '../helpers/tools';
import { scaled } from '../helpers/timing';
import { defaultBpfObjectDir } from '../../agent/src/paths';
import { kernelAtLeast } from '../../agent/src/host/kernelRelease';
import {
  assertBpfError,
  FIXTURE,
  getppidTimes,
  KIND,
  KPROBES,
  notRoot,
  openFixture,
  percpuSum,
  PROGRAMS,
  selfCgroupId,
  waitFor,
} from '../helpers/addonFixture';

describe('native addon on the running kernel', { skip: notRoot }, () => {
  let obj: BpfObject;
  let openMs = 0;
  const cgid = notRoot ? 0n : selfCgroupId();

  before(() => {
    const t0 = process.hrtime.bigint();
    obj = openFixture();
    openMs = Number(process.hrtime.bigint() - t0) / 1e6;
  });

  after(() => obj?.close());

  // On this kernel (Linux 6.18 VM): tp_btf loads and attaches; fentry fails to load (ESRCH: no ftrace
  // trampolines); kprobes are absent (CONFIG_KPROBES off), so the kprobe perf event cannot be created.
  // Debian's 6.12 (test/kernels): fentry on __x64_sys_getppid fails the same way, the kprobe attaches.
  test('ladders: fentry fails, raw_tp wins; tp_btf attaches; kprobe attaches or its failure is reported with op and code', () => {
    const by = new Map<string, AttachReport>(obj.attachments.map((a) => [a.probe, a]));
    assert.equal(obj.path, FIXTURE);
    assert.deepEqual([...by.keys()], ['syscalls', 'getppid', 'btf', 'classic']);
    const sys = by.get('syscalls')!;
    assert.equal(sys.attached, true);
    assert.equal(sys.program, 'fixture_raw_tp');
    assert.equal(sys.kind, 'raw_tp');
    assert.deepEqual(
      sys.failures.map((f) => [f.program, f.op, f.code]),
      [['fixture_fentry', 'bpf_object__load', 'ESRCH']],
    );
    const btf = by.get('btf')!;
    assert.equal(btf.attached, true);
    assert.equal(btf.kind, 'tp_btf');
    const gp = by.get('getppid')!;
    if (KPROBES) {
      assert.equal(gp.attached, true);
      assert.equal(gp.kind, 'kprobe');
      assert.deepEqual(gp.failures, []);
    } else {
      assert.equal(gp.attached, false);
      assert.deepEqual(
        gp.failures.map((f) => [f.program, f.op, f.code]),
        [['fixture_kprobe', 'bpf_program__attach_kprobe', 'ENOENT']],
      );
      assert.match(gp.failures[0].reason, /^kprobe attach failed: /);
    }
    for (const a of obj.attachments)
      for (const f of a.failures) assert.ok(f.reason.length > 0 && !f.reason.includes('\n'), 'one-line reason');
    const classic = by.get('classic')!;
    if (!classic.attached) assert.match(classic.failures[0].reason, /tracefs|attach failed/);
    console.log(`# open() with 3 ladders: ${openMs.toFixed(1)} ms`);
  });

  test('maps: names, info, knobs visible through the array map', () => {
    assert.deepEqual(
      obj.mapNames().filter((n) => n.startsWith('fixture_')),
      ['fixture_counts', 'fixture_array', 'fixture_events', 'fixture_uprobe_hits', 'fixture_drops'],
    );
    const counts = obj.mapInfo('fixture_counts');
    assert.deepEqual(counts, {
      name: 'fixture_counts',
      type: 'percpu_hash',
      keySize: 16,
      valueSize: 8,
      maxEntries: 2048,
      percpu: true,
      flags: 0,
    });
    assert.equal(obj.mapInfo('fixture_events').type, 'ringbuf');
    getppidTimes(1);
    const arr = obj.readMap('fixture_array');
    assert.equal(arr.count, 4);
    assert.equal(arr.valueStride, 8);
    assert.deepEqual(
      [...Array(4).keys()].map((i) => arr.keys.readUInt32LE(i * 4)),
      [0, 1, 2, 3],
    );
    assert.ok(arr.values.readBigUInt64LE(0) > 0n, 'sys_enter events counted');
    assert.equal(arr.values.readBigUInt64LE(8), 513n, 'targ_small');
    assert.equal(arr.values.readBigUInt64LE(16), 9n, 'targ_byte');
    const drops = obj.readMap('fixture_drops');
    assert.equal(drops.count, KERNEL_DROP_REASONS.length, 'KOTEL_DROP_REASONS');
    assert.equal(drops.valueStride, 8 * native.possibleCpus());
    assert.equal(drops.values.length, KERNEL_DROP_REASONS.length * drops.valueStride);
  });

  test('preallocateHashMaps: the kernel creates the no-prealloc maps preallocated (for kernels before 6.1)', () => {
    const flags = (preallocateHashMaps: boolean) => {
      const o = BpfObject.open(path.join(defaultBpfObjectDir, 'sched.bpf.o'), {
        ladders: { m: [{ program: 'sched_migrate_task_btf', kind: 'tp_btf' }] },
        preallocateHashMaps,
      });
      try {
        assert.equal(o.attachments[0].attached, true);
        return o.mapInfo('sched_runq_hist').flags;
      } finally {
        o.close();
      }
    };
    assert.equal(flags(false) & 1, 1, 'BPF_F_NO_PREALLOC, as the kernel created it');
    assert.equal(flags(true) & 1, 0, 'cleared');
  });

  test('readMap reads a map holding more than its first allocation (256 entries), every entry once', () => {
    // 600 keys of kind 77, written by bpftool into this object's (newest) fixture_counts
    const maps = JSON.parse(execFileSync(tool('bpftool'), ['-j', 'map', 'show'], { encoding: 'utf8' })) as { id: number; name?: string }[];
    const id = Math.max(...maps.filter((m) => m.name === 'fixture_counts').map((m) => m.id));
    const hex = (n: bigint, bytes: number) =>
      [...Array(bytes).keys()].map((i) => ((n >> BigInt(8 * i)) & 0xffn).toString(16).padStart(2, '0')).join(' ');
    const batchFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-native-')), 'updates');
    const N = 600;
    fs.writeFileSync(
      batchFile,
      [...Array(N).keys()]
        .map(
          (i) => `map update id ${id} key hex ${hex(BigInt(1_000_000 + i), 8)} ${hex(77n, 4)} 00 00 00 00 value hex ${hex(BigInt(i), 8)}`,
        )
        .join('\n') + '\n',
    );
    try {
      execFileSync(tool('bpftool'), ['batch', 'file', batchFile]);
      const batch = obj.readMap('fixture_counts');
      const ours = new Map<bigint, bigint>();
      for (let i = 0; i < batch.count; i++) {
        if (batch.keys.readUInt32LE(i * 16 + 8) !== 77) continue;
        const cg = batch.keys.readBigUInt64LE(i * 16);
        assert.ok(!ours.has(cg), `key ${cg} read once`);
        ours.set(cg, batch.values.readBigUInt64LE(i * batch.valueStride));
      }
      assert.equal(ours.size, N);
      for (let i = 0; i < N; i++) assert.equal(ours.get(BigInt(1_000_000 + i)), BigInt(i));
    } finally {
      fs.rmSync(path.dirname(batchFile), { recursive: true, force: true });
    }
  });

  test('per-CPU counter of this cgroup grows by at least the syscalls made', () => {
    const isOurs = (k: Buffer) => k.readBigUInt64LE(0) === cgid && k.readUInt32LE(8) === KIND;
    const before = percpuSum(obj.readMap('fixture_counts'), 16, isOurs);
    const N = 500;
    getppidTimes(N);
    const batch = obj.readMap('fixture_counts');
    assert.equal(batch.valueStride, 8 * native.possibleCpus());
    assert.equal(batch.keys.length, batch.count * 16);
    assert.equal(batch.values.length, batch.count * batch.valueStride);
    const after = percpuSum(batch, 16, isOurs);
    assert.ok(after - before >= BigInt(N), `counter grew by ${after - before}, expected >= ${N}`);
  });

  test('progStats: run count grows while run-time stats are on', () => {
    const on = native.enableRunTimeStats();
    assert.equal(on, true);
    try {
      getppidTimes(100);
      const stats = obj.progStats();
      const raw = stats.find((s) => s.program === 'fixture_raw_tp');
      assert.ok(raw, `fixture_raw_tp in ${stats.map((s) => s.program).join(',')}`);
      assert.ok(raw.runCount > 0n);
      assert.ok(raw.runTimeNs > 0n);
      assert.equal(typeof raw.recursionMisses, 'bigint');
      const failed = obj.attachments.flatMap((a) => a.failures.map((f) => f.program));
      assert.ok(
        failed.length > 0 && !stats.some((s) => failed.includes(s.program)),
        `unattached rungs (${failed.join(', ')}) are not loaded`,
      );
    } finally {
      native.disableRunTimeStats();
    }
  });

  // A kretprobe has maxactive instances (default max(10, 2 x possible CPUs)): a return is lost while all are in
  // use by calls still running. Linux 6.7+ reports those misses in the perf link's info.
  test(
    'kprobeMisses: more concurrent sleepers than a kretprobe has instances are counted',
    { skip: !KPROBES && 'no kprobes on this kernel' },
    () => {
      const o = BpfObject.open(FIXTURE, {
        ladders: { nanosleep: [{ program: 'fixture_kretprobe', kind: 'kretprobe', target: 'hrtimer_nanosleep' }] },
      });
      try {
        assert.equal(o.attachments[0].attached, true, JSON.stringify(o.attachments[0].failures));
        const maxactive = Math.max(10, 2 * native.possibleCpus());
        const sleepers = maxactive + 20;
        execFileSync('sh', ['-c', `for i in $(seq ${sleepers}); do sleep ${scaled(2000) / 1000} & done; wait`]);
        const st = o.progStats().find((s) => s.program === 'fixture_kretprobe')!;
        if (kernelAtLeast(6, 7))
          assert.ok(
            st.kprobeMisses !== undefined && st.kprobeMisses >= 10n,
            `${st.kprobeMisses} misses with ${sleepers} sleepers, ${maxactive} instances`,
          );
        else assert.ok(st.kprobeMisses === undefined || st.kprobeMisses === 0n, 'not reported before 6.7');
      } finally {
        o.close();
      }
    },
  );

  test('errors: bad path, knob, map and names throw BpfError with op and code', () => {
    assertBpfError(
      () => BpfObject.open('/nonexistent/x.bpf.o', { ladders: {} }),
      'bpf_object__open_file',
      'ENOENT',
      'bpf_object__open_file(/nonexistent/x.bpf.o): No such file or directory (ENOENT)',
    );
    assertBpfError(() => BpfObject.open(FIXTURE, { rodata: { targ_nope: 1 }, ladders: {} }), 'rodata', 'ENOENT', 'targ_nope');
    assertBpfError(() => BpfObject.open(FIXTURE, { rodata: { targ_byte: 300 }, ladders: {} }), 'rodata', 'ERANGE', 'targ_byte');
    assertBpfError(
      () => BpfObject.open(FIXTURE, { maxEntries: { no_map: 4 }, ladders: {} }),
      'bpf_map__set_max_entries',
      'ENOENT',
      'no_map',
    );
    assertBpfError(
      () => BpfObject.open(FIXTURE, { ladders: { x: [{ program: 'no_prog', kind: 'raw_tp' }] } }),
      'bpf_object__find_program_by_name',
      'ENOENT',
      'no_prog',
    );
    assertBpfError(() => obj.readMap('no_map'), 'readMap', 'ENOENT', 'no_map');
    assertBpfError(() => obj.openRingBuffer('fixture_counts', () => {}), 'openRingBuffer', 'EINVAL', 'fixture_counts');
  });

  test('close() is idempotent and unloads every program', async () => {
    const names = (): string[] =>
      (JSON.parse(execFileSync(tool('bpftool'), ['-j', 'prog', 'show'], { encoding: 'utf8' })) as { name?: string }[]).map(
        (p) => p.name ?? '',
      );
    const mine = (): string[] => names().filter((n) => PROGRAMS.includes(n)); // all names fit bpftool's 15 chars
    assert.ok(mine().includes('fixture_raw_tp'), 'loaded before close');
    obj.close();
    obj.close();
    await waitFor(() => mine().length === 0, 5000); // programs are freed after an RCU grace period
    assertBpfError(() => obj.readMap('fixture_array'), 'readMap', 'EBADF', 'closed');
  });
});
