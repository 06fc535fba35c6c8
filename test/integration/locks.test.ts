// The locks family end to end: the real agent with the real BPF programs on this kernel exports over OTLP
// gRPC to a receiver in this test. Workloads (test/fixtures/workloads/locks-workload.c, compiled here) run
// in their own cgroups; ground truth is their own tally (how long each pthread_mutex_lock call blocked,
// how many timed waits timed out) and, for kernel lock contention, bpftrace on the same tracepoints.
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startOtlpReceiver, type DecodedPoint } from '../helpers/otlpReceiver';
import { explicitForm } from '../helpers/otlpDecode';
import { missBound, startBpftrace } from '../helpers/bpftrace';
import { latest, waitForPoint, type Receiver } from '../helpers/points';
import { createCgroup, runIn, type TestCgroup } from '../helpers/cgroup';
import { startAgent, writeConfig, type AgentProcess } from '../helpers/agentProcess';
import { BpfObject, type HookKind } from '../../agent/src/native';
import { tracepointLadder } from '../../agent/src/probes/ladder';
import { tool } from '../helpers/tools';
import { scaled, TIME_SCALE } from '../helpers/timing';
import { describeErrors, percentileErrors } from '../helpers/quantiles';

const SOURCE = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'workloads', 'locks-workload.c');
/** the binary's name is the comm the spans carry */
const COMM = 'kotel-lockwl';
/** PREEMPT_RT builds rw_semaphores on rwbase_rt, as rwlocks: the same contention flags (LCB_F_RT | READ or
 * WRITE), which kotel names as perf lock contention does */
const RWSEM = os.version().includes('PREEMPT_RT') ? 'rwlock_rt' : 'rwsem';

/** kotel's futex histogram against the workload's own long lock calls (waitNs): a call's kernel wait is its
 * user-side time less its way into and out of futex() (up to 3% + 0.5 ms here, scaled on slow machines:
 * a call in an emulated RT guest spent 3.2 ms of its 36.7 outside the wait), so for every bound above half
 * the hold time, the waits kotel has beyond it number between the calls longer than it by that margin and
 * the calls longer than it */
function assertTails(p: DecodedPoint, waitNs: number[], fromS: number, what: string): void {
  const slackS = 0.0005 * TIME_SCALE;
  const bounds = p.bounds!;
  for (let k = 0; k < bounds.length; k++) {
    // at the powers of two in seconds only: a lock call's user-side part (up to 6% of a 28 ms PI call seen
    // on the host) may put its wait one 4%-bucket below the call; the percentile test checks the fine buckets
    if (bounds[k] < fromS || !Number.isInteger(Math.log2(bounds[k]))) continue;
    const tail = p.counts!.slice(k + 1).reduce((a, b) => a + b, 0);
    const most = waitNs.filter((d) => d / 1e9 > bounds[k]).length;
    // emulated (a qemu TCG guest), a waiter may also lose the CPU for tens of ms outside the syscall (a
    // 67.9 ms PI lock call whose futex wait was under 33.5 ms, seen on 6.1): one call in ten may fall short
    const outliers = process.env.KOTEL_TEST_EMULATED ? Math.ceil(waitNs.length / 10) : 0;
    const least = waitNs.filter((d) => (d / 1e9) * 0.97 - slackS > bounds[k]).length - outliers;
    assert.ok(
      tail >= least && tail <= most,
      `${what}: ${tail} waits beyond ${bounds[k]}s, the workload's calls say ${least}..${most}: kotel ${p.counts}; workload ${waitNs.map((d) => (d / 1e6).toFixed(1)).join(' ')} ms`,
    );
  }
}

/** every waiter blocked for most of the hold, once per round; emulated (a qemu TCG guest), a quarter of them
 * may come to the lock late, when it was nearly or already released (seen: 10 of 12 on 6.1) */
function assertLongWaits(res: { longWaits: number }, calls: number): void {
  const late = process.env.KOTEL_TEST_EMULATED ? Math.floor(calls / 4) : 0;
  assert.ok(
    res.longWaits >= calls - late && res.longWaits <= calls,
    `${calls} lock calls blocked long (${late} may be late): ${JSON.stringify(res)}`,
  );
}

/** a scale-4 exponential point merged into scale 0 (one bucket per power of two), in explicit form */
function mergeToScale0(p: DecodedPoint): { bounds: number[]; counts: number[] } {
  const byIndex = new Map<number, number>();
  p.positive!.counts.forEach((c, j) => {
    const i = Math.floor((p.positive!.offset + j) / 16);
    byIndex.set(i, (byIndex.get(i) ?? 0) + c);
  });
  const keys = [...byIndex.keys()];
  const first = Math.min(...keys);
  const counts = Array.from({ length: Math.max(...keys) - first + 1 }, (_, k) => byIndex.get(first + k) ?? 0);
  return explicitForm(0, p.zeroCount ?? 0, first, counts);
}

describe('locks family end to end (root, real kernel, real OTLP)', () => {
  let receiver: Receiver;
  let agent: AgentProcess;
  let workload: string;
  const cgroups: Record<string, TestCgroup> = {};

  async function run(cg: string, args: string[]) {
    const out = await runIn(cgroups[cg], workload, args);
    return JSON.parse(out.trim().split('\n').at(-1)!);
  }

  before(async () => {
    workload = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-locks-')), COMM);
    execFileSync(tool('cc'), ['-O2', '-Wall', '-pthread', '-o', workload, SOURCE, '-lm']);
    for (const name of ['locks-mutex', 'locks-pi', 'locks-timed', 'locks-spread', 'locks-mmap', 'locks-idle', 'locks-ia32'])
      cgroups[name] = createCgroup(name);
    receiver = await startOtlpReceiver();
    const config = writeConfig(`
families:
  locks:
    futex: true
    spanThresholdMs: 10
    topLocks: 50
otlp:
  endpoint: "http://127.0.0.1:${receiver.grpcPort}"
metrics:
  interval: 1000
prometheus:
  enabled: false
console:
  interval: 1000
`);
    agent = startAgent(['run', '--config', config, '--families', 'locks']);
    await agent.waitFor(/kotel running/, 30_000);
  });

  after(async () => {
    await agent?.stop();
    await receiver?.close();
    for (const cg of Object.values(cgroups)) cg.remove();
  });

  test('futex waits: threads blocked on a held pthread mutex, as long and as many as the workload saw', async () => {
    const [waiters, rounds, holdMs] = [4, 5, 24];
    const res = await run('locks-mutex', ['mutex', String(waiters), String(rounds), String(holdMs)]);
    assertLongWaits(res, waiters * rounds);

    const cg = { 'cgroup.path': cgroups['locks-mutex'].path };
    const p = await waitForPoint(
      receiver,
      'futex.wait.duration',
      { ...cg, 'futex.op': 'wait', 'error.type': undefined },
      (x) => (x.count ?? 0) >= res.longWaits,
      'the mutex waits',
    );
    assert.equal(p.unit, 's');
    assert.equal(p.kind, 'exponentialHistogram');
    assert.equal(p.attributes['cgroup.id'], cgroups['locks-mutex'].id);
    // the long waits sit in the buckets of the workload's own lock calls
    assertTails(p, res.waitNs, holdMs / 2 / 1e3, 'mutex waits');
    // kernel time in futex() is the lock call minus its user-space part: a little less, never more
    const userS = res.longWaitNs / 1e9;
    assert.ok(p.sum! <= userS && p.sum! > userS * 0.97, `kotel sum ${p.sum}s vs the workload's ${userS}s`);
  });

  test('futex waits: a priority-inheritance mutex waits in FUTEX_LOCK_PI', async () => {
    const [waiters, rounds, holdMs] = [3, 4, 24];
    const res = await run('locks-pi', ['pi', String(waiters), String(rounds), String(holdMs)]);
    assertLongWaits(res, waiters * rounds);
    const cg = { 'cgroup.path': cgroups['locks-pi'].path };
    const p = await receiver.waitFor(
      () => {
        const pts = ['lock_pi', 'lock_pi2']
          .map((op) => latest(receiver, 'futex.wait.duration', { ...cg, 'futex.op': op, 'error.type': undefined }))
          .filter((x) => x);
        // one FUTEX_LOCK_PI per call that found the lock held: the long ones and maybe a late waiter's short one
        return pts.find((x) => x!.count! >= res.longWaits && x!.count! <= waiters * rounds);
      },
      20_000,
      'the PI waits',
    );
    assertTails(p, res.waitNs, holdMs / 2 / 1e3, 'PI waits');
  });

  test('futex waits: timed condition waits that time out are FUTEX_WAIT_BITSET with error.type ETIMEDOUT', async () => {
    const res = await run('locks-timed', ['timedwait', '5', '10']);
    assert.equal(res.timeouts, 5);
    const p = await waitForPoint(
      receiver,
      'futex.wait.duration',
      { 'cgroup.path': cgroups['locks-timed'].path, 'futex.op': 'wait_bitset', 'error.type': 'ETIMEDOUT' },
      (x) => x.count === 5,
      '5 timeouts',
    );
    assert.ok(p.sum! <= res.waitNs / 1e9 && p.sum! > 0.045, `5 x 10 ms: ${p.sum}s (workload ${res.waitNs / 1e9}s)`);
  });

  test('percentiles: p50, p90, p99 and p99.9 of futex waits with a known spread, each within 5% of the exact ones', async () => {
    // 1000 waits timed out after 1-20 ms (log-uniform), each timed by the workload itself: the exact values.
    // Emulated (qemu TCG), a syscall's way in and out costs up to tens of us: waits of 5-100 ms there.
    const [lo, hi] = process.env.KOTEL_TEST_EMULATED ? [5000, 100_000] : [1000, 20_000];
    const count = 1000;
    const res = await run('locks-spread', ['spread', '4', String(count), String(lo), String(hi)]);
    const exact = (res.waitNs as number[]).map((ns) => ns / 1e9);
    assert.equal(exact.length, count);
    const p = await waitForPoint(
      receiver,
      'futex.wait.duration',
      { 'cgroup.path': cgroups['locks-spread'].path, 'futex.op': 'wait', 'error.type': 'ETIMEDOUT' },
      (x) => x.count === count,
      `${count} timed-out waits`,
    );
    assert.equal(p.kind, 'exponentialHistogram');
    assert.equal(p.scale, 4, 'metrics.histogramScale 4: 16 buckets per power of two');
    const errors = percentileErrors(exact, p.bounds!, p.counts!);
    for (const e of errors) assert.ok(e.error <= 0.05, describeErrors(errors));
    // the same waits at scale 0 (log2 buckets, the exported ones merged by 16): the error this fixes
    const merged = mergeToScale0(p);
    const log2Errors = percentileErrors(exact, merged.bounds, merged.counts);
    console.log(`# futex waits, scale 4: ${describeErrors(errors)}\n# merged to scale 0: ${describeErrors(log2Errors)}`);
    assert.ok(
      log2Errors.some((e) => e.error > 0.05),
      `log2 buckets should miss by more than 5% somewhere: ${describeErrors(log2Errors)}`,
    );
  });

  test('futex waits of an ia32 syscall (int 0x80): its futex counted, its 202 (getegid32, not futex) not', async () => {
    const n = 50;
    const res = await run('locks-ia32', ['ia32', String(n)]);
    assert.deepEqual([res.getegid32, res.futexEagain], [n, n], JSON.stringify(res));
    const cg = { 'cgroup.path': cgroups['locks-ia32'].path };
    const p = await waitForPoint(
      receiver,
      'futex.wait.duration',
      { ...cg, 'futex.op': 'wait', 'error.type': 'EAGAIN' },
      (x) => x.count === n,
      `${n} ia32 futex calls`,
    );
    assert.equal(p.count, n);
    const all = receiver.metrics().filter((x) => x.name === 'futex.wait.duration' && x.attributes['cgroup.path'] === cg['cgroup.path']);
    const kinds = new Map(all.map((x) => [`${x.attributes['futex.op']}/${x.attributes['error.type'] ?? ''}`, x.count]));
    assert.deepEqual([...kinds], [['wait/EAGAIN', n]], 'no other futex waits: getegid32 is not one');
  });

  test('kernel lock contention: mmap/munmap threads contend on mmap_lock; counts agree with bpftrace', async () => {
    const cg = cgroups['locks-mmap'];
    // the reference: bpftrace on the classic tracepoints, same rule (first begin of a task, end of the same lock)
    const script =
      `tracepoint:lock:contention_begin /cgroup == ${cg.id} && @start[tid] == 0/ { @start[tid] = nsecs; @lock[tid] = args->lock_addr; }` +
      `tracepoint:lock:contention_end /cgroup == ${cg.id} && @start[tid] != 0 && @lock[tid] == args->lock_addr/ { @n = count(); @ns = sum(nsecs - @start[tid]); delete(@start[tid]); delete(@lock[tid]); }`;
    const tracer = await startBpftrace(script);
    const res = await run('locks-mmap', ['mmap', '4', '2']);
    await new Promise((r) => setTimeout(r, scaled(300)));
    const btMisses = tracer.misses();
    const btMissBound = (seen: number) => missBound(btMisses, seen);
    const traced = await tracer.stop();
    const n = Number(/@n: (\d+)/.exec(traced)?.[1]);
    const ns = Number(/@ns: (\d+)/.exec(traced)?.[1]);
    assert.ok(res.mapUnmapCycles > 100 && n > 100, `workload ${JSON.stringify(res)}, bpftrace saw ${n} contentions: ${traced}`);

    const total = () => receiver.metrics().filter((p) => p.name === 'lock.contention.duration' && p.attributes['cgroup.path'] === cg.path);
    // kotel's own losses, as it exports them: BPF recursion and pending-wait slots it could not create
    const kotelLost = () =>
      ['bpf_recursion', 'map_full', 'task_storage'].reduce(
        (a, reason) => a + (latest(receiver, 'kotel.events.dropped', { 'kotel.family': 'locks', 'kotel.drop.reason': reason })?.value ?? 0),
        0,
      );
    const newest = () => {
      const pts = new Map<string, DecodedPoint>();
      for (const p of total().sort((a, b) => Number(a.timeUnixNano - b.timeUnixNano))) pts.set(String(p.attributes['lock.kind']), p);
      return [...pts.values()];
    };
    const counted = (pts: DecodedPoint[]) => pts.reduce((a, p) => a + p.count!, 0);
    const points = await receiver
      .waitFor(
        () => (counted(newest()) >= (n - kotelLost()) * 0.995 - 2 ? newest() : undefined),
        20_000,
        `~${n} contentions as bpftrace counted`,
      )
      .catch(() => newest());
    const count = counted(points);
    const sum = points.reduce((a, p) => a + p.sum!, 0);
    // Both observe the same events. Under other tracers' load each can be skipped (BPF recursion
    // protection; a classic-tracepoint program is skipped while any other kprobe/tracepoint program or a
    // map syscall runs on that CPU), and the kernel counts those misses; each one's run time lands in the
    // other's measured window.
    // A missed end (an interrupt's contention_end nested in this CPU's end program, skipped and counted as
    // bpf_recursion) leaves that wait pending until its task next switches: kotel may then miss the task's
    // few contentions in between, uncounted (seen before it healed: 6915 vs 8099, 3 lost; since: at most 1).
    const lost = kotelLost();
    assert.ok(
      count >= (n - lost) * 0.995 - 2 && count <= n + btMissBound(n) + 2,
      `kotel ${count} vs bpftrace ${n} (kotel lost ${lost}, bpftrace missed ${btMisses}, at most ${btMissBound(n)})`,
    );
    assert.ok(Math.abs(sum - ns / 1e9) <= (ns / 1e9) * 0.15, `kotel ${sum}s vs bpftrace ${ns / 1e9}s`);
    // mmap_lock's slow path takes the rwsem's wait-queue spinlock: contended from two CPUs, a wait inside a
    // wait, counted as nested (not timed, as bpftrace's reference does not time it either)
    const nested = latest(receiver, 'kotel.events.dropped', { 'kotel.family': 'locks', 'kotel.drop.reason': 'nested' })?.value ?? 0;
    // (an emulated guest's vCPUs take turns on one host thread: two rarely spin at the same time)
    if (os.cpus().length > 1 && !process.env.KOTEL_TEST_EMULATED) assert.ok(nested > 0, `nested contentions counted: ${nested}`);
    const kinds = new Set(points.map((p) => p.attributes['lock.kind']));
    assert.ok(kinds.has(`${RWSEM}_write`) || kinds.has(`${RWSEM}_read`), `mmap_lock is an rwsem (${RWSEM}): ${[...kinds]}`);
    assert.ok(
      [...kinds].every((k) => !String(k).startsWith('flags_')),
      `known kinds only: ${[...kinds]}`,
    );

    // the top-locks report names the process's mmap_lock
    const top = await receiver.waitFor(
      () => {
        const pts = receiver
          .metrics()
          .filter((p) => p.name === 'lock.contention.top.contentions' && p.attributes['lock.symbol'] === 'mmap_lock');
        return pts.find((p) => (p.value ?? 0) >= 100);
      },
      20_000,
      'mmap_lock among the top locks',
    );
    assert.equal(top.unit, '{contention}');
    assert.match(String(top.attributes['lock.address']), /^0x[0-9a-f]+$/);
    // on PREEMPT_RT the entry also holds the waits on the rtmutex inside mmap_lock: its kind may be theirs
    const topKind = String(top.attributes['lock.kind']);
    assert.ok(topKind.startsWith(RWSEM) || (RWSEM === 'rwlock_rt' && topKind === 'rt_mutex'), topKind);
  });

  test('spans: one lock.wait per futex wait above the threshold, with pid, thread, comm, kind and duration', async () => {
    const [waiters, rounds, holdMs] = [2, 3, 24];
    const res = await run('locks-mutex', ['mutex', String(waiters), String(rounds), String(holdMs)]);
    // futex spans only: the process may also have kernel lock spans of its own, e.g. (6.1 guest) 17 ms on
    // cgroup_threadgroup_rwsem while, as the shell before exec, it wrote its pid into cgroup.procs
    const spans = await receiver.waitFor(
      () => {
        const s = receiver
          .spans()
          .filter((x) => x.name === 'lock.wait' && x.attributes['process.pid'] === res.pid && x.attributes['lock.kind'] === 'futex');
        return s.length >= waiters * rounds ? s : undefined;
      },
      20_000,
      `${waiters * rounds} lock.wait spans`,
    );
    const seen = spans.map(
      (s) => `${s.attributes['thread.id']} ${s.attributes['futex.op']} ${Number(s.endTimeUnixNano - s.startTimeUnixNano) / 1e6} ms`,
    );
    assert.equal(spans.length, waiters * rounds, `spans: ${seen.join(', ')}; workload ${JSON.stringify(res)}`);
    for (const s of spans) {
      assert.equal(s.attributes['lock.kind'], 'futex');
      assert.equal(s.attributes['futex.op'], 'wait');
      assert.equal(s.attributes['process.executable.name'], COMM);
      assert.equal(s.attributes['cgroup.path'], cgroups['locks-mutex'].path);
      assert.ok(res.tids.includes(s.attributes['thread.id']), `thread ${s.attributes['thread.id']} is a waiter`);
      const ms = Number(s.endTimeUnixNano - s.startTimeUnixNano) / 1e6;
      assert.ok(ms >= 10 && ms <= res.maxWaitNs / 1e6, `span of ${ms} ms (hold ${holdMs} ms, longest lock call ${res.maxWaitNs / 1e6} ms)`);
    }
  });

  test('every rung of every probe loads and attaches here, spans and top locks on', () => {
    const object = path.resolve(__dirname, '..', '..', '..', 'bpf', '.output', 'locks.bpf.o');
    for (const kind of ['tp_btf', 'raw_tp', 'tp'] as HookKind[]) {
      const ladders = Object.fromEntries(
        ['contention_begin', 'contention_end', 'futex_enter', 'futex_exit'].map((p) => [
          p,
          tracepointLadder(p).filter((r) => r.kind === kind),
        ]),
      );
      const o = BpfObject.open(object, { rodata: { targ_span_threshold_ns: 1_000_000n }, ladders });
      try {
        for (const a of o.attachments)
          assert.ok(a.attached && a.kind === kind, `${a.probe} on ${kind}: ${a.failures.map((f) => f.reason).join('; ')}`);
      } finally {
        o.close();
      }
    }
  });

  test('every program attached on this kernel, (almost) nothing dropped, nothing for an idle cgroup, console report', async () => {
    for (const probe of ['contention_begin', 'contention_end', 'futex_enter', 'futex_exit']) {
      const p = await waitForPoint(receiver, 'kotel.probe.attached', { 'kotel.probe': probe }, () => true, `${probe} attach status`);
      assert.equal(p.value, 1, `${probe} attached`);
      assert.equal(p.attributes['kotel.hook'], 'tp_btf');
    }
    const drops = ['ringbuf_full', 'map_full', 'task_storage', 'decode']
      .map((r) => latest(receiver, 'kotel.events.dropped', { 'kotel.family': 'locks', 'kotel.drop.reason': r }))
      .filter((p) => p !== undefined);
    // a pending-wait slot cannot be created in the rare nested case where another BPF program on the same
    // CPU holds the task-storage lock: counted as task_storage, and only a handful in a run
    const lost = drops.reduce((a, p) => a + (p.value ?? 0), 0);
    assert.ok(drops.length >= 2 && lost <= 3, `drops: ${JSON.stringify(drops.map((p) => [p.attributes['kotel.drop.reason'], p.value]))}`);
    assert.equal(latest(receiver, 'futex.wait.duration', { 'cgroup.path': cgroups['locks-idle'].path }), undefined);
    await agent.waitFor(/lock\.contention\.top/, 10_000, 'stdout');
    assert.match(agent.stdout(), /futex\.wait\.duration/);
    assert.match(agent.stdout(), /symbol=mmap_lock/);
  });
});
