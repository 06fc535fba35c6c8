// The fixture BPF object of the addon suites (test/fixtures/bpf/addon_fixture.bpf.c), opened as they use it,
// and what they share to read it.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BpfError, BpfObject, type MapBatch } from '../../agent/src/native';
import { tool } from './tools';
import { scaled } from './timing';

const ROOT = path.resolve(__dirname, '..', '..', '..');
export const FIXTURE_DIR = path.join(ROOT, 'test', 'fixtures', 'bpf');
export const FIXTURE = path.join(FIXTURE_DIR, '.output', 'addon_fixture.bpf.o');
export const LIBC = '/lib/x86_64-linux-gnu/libc.so.6';
export const KIND = 7; // targ_kind
export const KIND_TP = 100; // FIXTURE_KIND_TP in addon_fixture.h
export const KIND_BTF = 101; // FIXTURE_KIND_BTF
export const PROGRAMS = [
  'fixture_raw_tp',
  'fixture_tp_btf',
  'fixture_tp',
  'fixture_fentry',
  'fixture_kprobe',
  'fixture_kretprobe',
  'fixture_uprobe',
];
export const notRoot = process.getuid?.() !== 0 ? 'loads BPF programs: run as root' : false;
/** the perf kprobe PMU libbpf attaches kprobes through: absent without CONFIG_KPROBES (this host), present in
 * Debian's kernels (test/kernels) */
export const KPROBES = fs.existsSync('/sys/bus/event_source/devices/kprobe');

/** builds the fixture and opens it with 4 ladders, knobs and the uprobe program loaded only */
export function openFixture(): BpfObject {
  execFileSync(tool('make'), ['-s', '-C', FIXTURE_DIR]);
  return BpfObject.open(FIXTURE, {
    rodata: { targ_kind: KIND, targ_pid: process.pid, targ_syscall: 110n, targ_small: 513, targ_byte: 9, targ_enabled: true },
    maxEntries: { fixture_counts: 2048 },
    ladders: {
      syscalls: [
        { program: 'fixture_fentry', kind: 'fentry' },
        { program: 'fixture_raw_tp', kind: 'raw_tp' },
      ],
      getppid: [{ program: 'fixture_kprobe', kind: 'kprobe' }],
      btf: [{ program: 'fixture_tp_btf', kind: 'tp_btf' }],
      classic: [{ program: 'fixture_tp', kind: 'tp' }],
    },
    loadOnly: ['fixture_uprobe'],
  });
}

/** cgroup v2 id of this process: inode of its cgroup2 directory (bpf_get_current_cgroup_id). */
export function selfCgroupId(): bigint {
  const line = fs
    .readFileSync('/proc/self/cgroup', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('0::'));
  assert.ok(line, 'no cgroup2 line in /proc/self/cgroup');
  const rel = line.slice(3);
  const mount = fs.existsSync('/sys/fs/cgroup/unified') ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup';
  return fs.statSync(path.join(mount, rel), { bigint: true }).ino;
}

/** Sum over CPUs of the u64 per-CPU counter at `key` in a readMap() result, 0n when absent. */
export function percpuSum(batch: MapBatch, keySize: number, match: (key: Buffer) => boolean): bigint {
  for (let i = 0; i < batch.count; i++) {
    const key = batch.keys.subarray(i * keySize, (i + 1) * keySize);
    if (!match(key)) continue;
    let sum = 0n;
    for (let off = 0; off < batch.valueStride; off += 8) sum += batch.values.readBigUInt64LE(i * batch.valueStride + off);
    return sum;
  }
  return 0n;
}

export function getppidTimes(n: number): void {
  for (let i = 0; i < n; i++) void process.ppid; // one getppid() syscall (and libc call) each
}

export async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + scaled(ms);
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function assertBpfError(fn: () => unknown, op: string, code: string, mentions: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BpfError, `not a BpfError: ${String(e)}`);
    assert.equal(e.op, op);
    assert.equal(e.code, code);
    assert.ok(e.errno > 0);
    assert.ok(e.message.includes(mentions), `message "${e.message}" does not mention ${mentions}`);
    return true;
  });
}
