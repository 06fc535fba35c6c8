// The scheduler family end to end: the real agent exports over OTLP gRPC to a receiver in this test.
// Workloads (test/fixtures/workloads/sched-workload.c) run in their own cgroups; ground truth comes from the
// workloads themselves (threads x seconds on one CPU, their own clock gaps, getrusage) and from bpftrace
// running a runqlat-style script on the classic tracepoints over the same run.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import * as path from 'node:path';
import { startOtlpReceiver } from '../helpers/otlpReceiver';
import { missBound, startBpftrace } from '../helpers/bpftrace';
import { describeErrors, percentileErrors } from '../helpers/quantiles';
import { otelIndex } from '../../agent/src/kernel/exponentialBuckets';
import { waitForPoint, type Receiver } from '../helpers/points';
import { createCgroup, runIn, type TestCgroup } from '../helpers/cgroup';
import { startAgent, writeConfig, type AgentProcess } from '../helpers/agentProcess';
import { buildWorkload, removeWorkloads } from '../helpers/cbuild';
import { BpfObject } from '../../agent/src/native';
import { defaultBpfObjectDir } from '../../agent/src/paths';

const SPIN_CPU = '1';
const SPIN_SECONDS = 2;
const SPINNERS = 4;
const SLEEPS = 200;
const MOVES = 50;

/** seconds a CPU spent in interrupts and stolen by the hypervisor (/proc/stat, USER_HZ = 100) */
function notScheduledSeconds(cpu: string): number {
  const line = fs
    .readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`cpu${cpu} `))!;
  const [, , , , , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return (irq + softirq + steal) / 100;
}

async function workload(cg: TestCgroup, args: string[]) {
  return JSON.parse((await runIn(cg, buildWorkload('sched-workload'), args)).trim());
}

/** a runqlat-style bpftrace script on the classic tracepoints, for threads named ksched-spin only */
const RUNQLAT_BT = `
tracepoint:sched:sched_wakeup, tracepoint:sched:sched_wakeup_new /args->comm == "ksched-spin"/ { @qt[args->pid] = nsecs; }
tracepoint:sched:sched_switch {
  if (args->prev_comm == "ksched-spin" && (args->prev_state & 0xff) == 0) { @qt[args->prev_pid] = nsecs; }
  if (args->next_comm == "ksched-spin") {
    $ts = @qt[args->next_pid];
    if ($ts) { @count = count(); @sum = sum(nsecs - $ts); printf("wait %d\\n", nsecs - $ts); }
    delete(@qt[args->next_pid]);
  }
}
END { clear(@qt); }`;

/** the waits bpftrace printed, ns */
function parseWaits(out: string): bigint[] {
  return [...out.matchAll(/^wait (\d+)$/gm)].map((m) => BigInt(m[1]));
}

describe('scheduler family end to end (root, real kernel, real OTLP)', () => {
  let receiver: Receiver;
  let agent: AgentProcess;
  const cgroups: Record<string, TestCgroup> = {};

  before(async () => {
    buildWorkload('sched-workload');
    for (const name of ['sched-one', 'sched-four', 'sched-sleep', 'sched-move', 'sched-rung']) cgroups[name] = createCgroup(name);
    receiver = await startOtlpReceiver();
    const config = writeConfig(`
families:
  sched:
    enabled: true
otlp:
  endpoint: "http://127.0.0.1:${receiver.grpcPort}"
metrics:
  interval: 1000
prometheus:
  enabled: false
console:
  enabled: false
`);
    agent = startAgent(['run', '--config', config, '--families', 'sched']);
    await agent.waitFor(/kotel running/, 30_000);
  });

  after(async () => {
    await agent?.stop();
    await receiver?.close();
    for (const cg of Object.values(cgroups)) cg.remove();
    removeWorkloads();
  });

  test('run-queue delay: N threads on one CPU add (N-1) x seconds of waiting, as the workload and bpftrace see it', async () => {
    const notSched0 = notScheduledSeconds(SPIN_CPU);
    const one = await workload(cgroups['sched-one'], ['spin', '1', String(SPIN_SECONDS), SPIN_CPU]);
    const oneNotSched = notScheduledSeconds(SPIN_CPU) - notSched0;
    const tracer = await startBpftrace(RUNQLAT_BT);
    // a sleeper in another cgroup at the same time, on the other CPU: its delays must not move
    const notSched1 = notScheduledSeconds(SPIN_CPU);
    const [four, sleeper] = await Promise.all([
      workload(cgroups['sched-four'], ['spin', String(SPINNERS), String(SPIN_SECONDS), SPIN_CPU]),
      workload(cgroups['sched-sleep'], ['sleep', String(SLEEPS), '1000']),
    ]);
    const fourNotSched = notScheduledSeconds(SPIN_CPU) - notSched1;
    const btMisses = tracer.misses();
    const traced = await tracer.stop();
    const btCount = Number(/@count: (\d+)/.exec(traced)?.[1]);
    const btSum = Number(/@sum: (\d+)/.exec(traced)?.[1]) / 1e9;
    assert.ok(btCount > 10, `bpftrace saw ${btCount} waits: ${traced}`);

    const at = (cg: string) => ({ 'cgroup.path': cgroups[cg].path });
    const pOne = await waitForPoint(receiver, 'sched.runqueue.delay', at('sched-one'), (p) => (p.count ?? 0) > 0, 'one-thread delays');
    const pFour = await waitForPoint(
      receiver,
      'sched.runqueue.delay',
      at('sched-four'),
      (p) => (p.count ?? 0) >= btCount,
      'four-thread delays',
    );
    assert.equal(pFour.unit, 's');
    assert.equal(pFour.kind, 'exponentialHistogram');
    assert.equal(pFour.attributes['cgroup.id'], cgroups['sched-four'].id);
    assert.equal(pFour.attributes['cpu.id'], undefined, 'no cpu.id unless families.sched.perCpu');

    // the CPU runs one thread at a time: N always-runnable threads wait (N-1) x T between them, on top of
    // what other load on that CPU costs (the same for one thread: it cancels in the difference)
    const expected = (SPINNERS - 1) * SPIN_SECONDS;
    const moved = pFour.sum! - pOne.sum!;
    assert.ok(moved > 0.8 * expected && moved < 1.2 * expected, `delay sum moved up by ${moved.toFixed(3)} s, expected ~${expected} s`);
    // the workload's own account: time between two clock reads of a spinning thread is time off the CPU,
    // which also holds interrupts and, in a VM, steal time (not run-queue delay: the kernel's /proc/stat
    // irq, softirq and steal time of that CPU over the run is taken off); kotel also has the waits shorter
    // than the workload's 20 us gap threshold and the main thread's
    // Upper bound for both. Lower bound only where run-queue waits dominate (four threads): on this VM a
    // lone spinner also loses up to ~0.4 s per 2 s run to the hypervisor that /proc/stat's steal misses.
    for (const [p, w, notSched] of [
      [pOne, one, oneNotSched],
      [pFour, four, fourNotSched],
    ] as const) {
      const gaps = w.gapNs / 1e9;
      assert.ok(p.sum! <= 1.01 * gaps + 0.02, `kotel ${p.sum} s within the workload's gaps ${gaps} s`);
      if (w === four) {
        const lower = 0.9 * (gaps - notSched) - 0.25 * SPIN_SECONDS;
        assert.ok(p.sum! > lower, `kotel ${p.sum} s vs the workload's gaps ${gaps} s (of which ${notSched} s irq/steal)`);
      }
    }

    // the same waits through bpftrace: kotel's cgroup also holds the waits before the workload named itself
    // (the shell's before exec, the loader's); bpftrace's classic-tracepoint programs are skipped when
    // another kprobe/tp BPF program runs on that CPU (bpf_prog_active), which the kernel counts as misses
    // Under emulation (KOTEL_TEST_EMULATED: a qemu TCG guest, root over 9p) the workload's main thread alone
    // waits ~20 times (8-64 us each, seen in a 6.1 guest) while it starts up: three times that is allowed there.
    const extra = process.env.KOTEL_TEST_EMULATED ? 60 : 10;
    assert.ok(
      pFour.count! >= btCount && pFour.count! <= btCount + missBound(btMisses, btCount) + extra,
      `kotel count ${pFour.count} vs bpftrace ${btCount}; kotel sum ${pFour.sum}; bpftrace sum ${btSum}`,
    );
    assert.ok(Math.abs(pFour.sum! - btSum) < 0.05 * btSum, `kotel sum ${pFour.sum} s vs bpftrace ${btSum} s`);
    // bucket by bucket: each wait bpftrace printed goes in the OTel bucket of its value in seconds (exact
    // arithmetic). The two tracers read the clock at slightly different moments, which moves a value next to
    // a bound into the neighbouring bucket (at 12 ms a bucket is ~0.5 ms wide, and four spinners' waits pile
    // up within tens of us of one bound), so the distributions are compared cumulatively with one bucket of
    // slack: at every bound, kotel's waits at or below it lie between bpftrace's at or below the bound under
    // it and at or below the bound over it, give or take kotel's few extra waits (short ones, before the
    // workload named itself: seen 3 below 30 us with 1 more in all) and the events bpftrace missed.
    // Where a bucket is narrower than CLOCK_SKEW_NS (below ~20 us) the slack is that instead: on each
    // tracepoint the two tracers' programs run one after the other, so each reads the clock offset by the
    // other's run time, which differs between sched_wakeup and sched_switch (this host, 6.18: bpftrace's
    // waits of 3-6 us came out longer than kotel's by more than their bucket, up to ~0.5 us, under a
    // background waker on the spinners' CPU; the fresh-clone CI saw the same, 2 bounds beyond one bucket)
    const CLOCK_SKEW_NS = 1000;
    const waits = parseWaits(traced);
    assert.equal(waits.length, btCount, 'bpftrace printed every wait it counted');
    assert.equal(pFour.scale, 4);
    const btBuckets = new Map<number, number>();
    for (const w of waits) if (w > 0n) btBuckets.set(otelIndex(4, w), (btBuckets.get(otelIndex(4, w)) ?? 0) + 1);
    const kotelBuckets = new Map(pFour.positive!.counts.map((c, j) => [pFour.positive!.offset + j, c]));
    const indices = [...new Set([...btBuckets.keys(), ...kotelBuckets.keys()])].sort((x, y) => x - y);
    const cumulative = (buckets: Map<number, number>, zeros: number) => {
      const below = new Map<number, number>();
      let total = zeros;
      for (let i = indices[0] - 1; i <= indices[indices.length - 1] + 1; i++) below.set(i, (total += buckets.get(i) ?? 0));
      return (i: number) => below.get(Math.min(Math.max(i, indices[0] - 1), indices[indices.length - 1] + 1))!;
    };
    const kotelBelow = cumulative(kotelBuckets, pFour.zeroCount ?? 0);
    const btBelow = cumulative(btBuckets, waits.filter((w) => w === 0n).length);
    const btAtOrBelowNs = (ns: number) => waits.filter((w) => Number(w) <= ns).length;
    const boundNs = (i: number) => 1e9 * 2 ** ((i + 1) / 16);
    const excess = pFour.count! - btCount;
    const outside: string[] = [];
    let widest = 0;
    for (const i of indices) {
      widest = Math.max(widest, Math.abs(kotelBelow(i) - btBelow(i)));
      const low = Math.min(btBelow(i - 1), btAtOrBelowNs(boundNs(i) - CLOCK_SKEW_NS));
      const high = Math.max(btBelow(i + 1), btAtOrBelowNs(boundNs(i) + CLOCK_SKEW_NS));
      if (kotelBelow(i) < low - extra || kotelBelow(i) > high + Math.max(excess, 0) + extra)
        outside.push(`bucket ${i} (${(boundNs(i) / 1e3).toFixed(2)} us): kotel ${kotelBelow(i)} at or below, bpftrace ${low}..${high}`);
    }
    // and the percentiles a user reads, against bpftrace's exact per-event values; kotel's extra waits (the
    // shell's and the loader's before the workload named itself) are short ones: ranks count from above them
    const errors = percentileErrors(
      waits.map((w) => Number(w) / 1e9),
      pFour.bounds!,
      pFour.counts!,
      Math.max(0, pFour.count! - waits.length),
    );
    console.log(
      `# run-queue delay, ${waits.length} waits: ${describeErrors(errors)}; cumulative counts differ by ${widest} at most (${outside.length} bounds beyond one bucket or ${CLOCK_SKEW_NS} ns)`,
    );
    // Emulated (qemu TCG) the two tracers disagree beyond a bucket: in a 6.12 guest, cumulative counts up to
    // 189 of 1320 apart and p90 13.2 vs 15.0 ms with only 13 more waits in kotel (the futex test's percentiles
    // agree there within 2%, against the workload's own clock): only logged there, checked on real hardware
    if (!process.env.KOTEL_TEST_EMULATED) {
      assert.deepEqual(
        outside,
        [],
        `cumulative bucket counts beyond one bucket or ${CLOCK_SKEW_NS} ns of bpftrace's (kotel has ${excess} more)`,
      );
      assert.ok(
        errors.filter((e) => e.q <= 0.99).every((e) => e.error <= Math.max(0.05, CLOCK_SKEW_NS / 1e9 / e.exact)),
        `run-queue delay percentiles within 5% (or ${CLOCK_SKEW_NS} ns) of bpftrace's: ${describeErrors(errors)}`,
      );
    }

    // other cgroups don't move: the sleeper's waits are short
    // (a wakeup that finds the sleeper still on its CPU, before it got to block, is no wait: a few of them)
    const pSleep = await waitForPoint(
      receiver,
      'sched.runqueue.delay',
      at('sched-sleep'),
      (p) => (p.count ?? 0) >= SLEEPS * 0.9,
      'sleeper delays',
    );
    assert.ok(
      pSleep.sum! / pSleep.count! < pFour.sum! / pFour.count! / 4,
      `sleeper mean ${pSleep.sum! / pSleep.count!} s well below the spinners' ${pFour.sum! / pFour.count!} s`,
    );

    // context switches, against getrusage: sleeps are voluntary, a CPU shared by hogs preempts them
    // the kernel's own count (getrusage nvcsw) is the truth; the workload slept SLEEPS times, each a switch
    assert.ok(sleeper.nvcsw >= SLEEPS, `the sleeper blocked ${sleeper.nvcsw} times`);
    // at least those since main(): before it, the shell blocked partly outside the cgroup (a guest whose root
    // is a 9p share blocks ~15 times there, on the host ~0)
    const sinceMain = sleeper.nvcsw - sleeper.nvcswAtMain;
    const vol = await waitForPoint(
      receiver,
      'sched.context_switches',
      { ...at('sched-sleep'), 'context_switch.type': 'voluntary' },
      (p) => (p.value ?? 0) >= sinceMain - 2,
      `~${sleeper.nvcsw} voluntary switches (getrusage; ${sinceMain} since main())`,
    );
    assert.equal(vol.unit, '{context_switch}');
    assert.ok(vol.value! <= sleeper.nvcsw + 2, `voluntary ${vol.value} vs getrusage ${sleeper.nvcsw} (+ the exit switch)`);
    const inv = await waitForPoint(
      receiver,
      'sched.context_switches',
      { ...at('sched-four'), 'context_switch.type': 'involuntary' },
      (p) => (p.value ?? 0) >= 0.95 * four.nivcsw,
      'involuntary switches of the hogs',
    );
    assert.ok(four.nivcsw > 10, `the hogs were preempted ${four.nivcsw} times`);
    assert.ok(inv.value! <= four.nivcsw + 5 + 0.02 * four.nivcsw, `involuntary ${inv.value} vs getrusage ${four.nivcsw}`);
  });

  test('migrations: a task moving itself between CPUs K times', async () => {
    const res = await workload(cgroups['sched-move'], ['migrate', String(MOVES)]);
    assert.equal(res.moves, MOVES);
    // the first move is none when the task already runs on that CPU
    const p = await waitForPoint(
      receiver,
      'sched.migrations',
      { 'cgroup.path': cgroups['sched-move'].path },
      (x) => (x.value ?? 0) >= MOVES - 1,
      `${MOVES - 1} migrations`,
    );
    assert.equal(p.unit, '{migration}');
    assert.ok(p.value! <= MOVES + 5, `${p.value} migrations for ${MOVES} moves`);
  });

  test('self-metrics: every probe attached on tp_btf, nothing dropped', async () => {
    for (const probe of ['sched_wakeup', 'sched_wakeup_new', 'sched_switch', 'sched_migrate_task']) {
      const p = await waitForPoint(receiver, 'kotel.probe.attached', { 'kotel.probe': probe }, () => true, `${probe} attach status`);
      assert.equal(p.value, 1);
      assert.equal(p.attributes['kotel.hook'], 'tp_btf');
    }
    const drops = receiver.metrics().filter((p) => p.name === 'kotel.events.dropped' && p.attributes['kotel.family'] === 'sched');
    assert.ok(drops.length > 0 && drops.every((p) => p.value === 0), 'no drops');
    assert.doesNotMatch(agent.stderr(), /run-queue delay is incomplete/);
  });

  // Every rung of every probe, with every knob on, loads, attaches and measures on this kernel: a spinner
  // pair gives run-queue delay, per-CPU entries and off-CPU time for sleeps, read straight from the maps.
  for (const kind of ['tp_btf', 'raw_tp', 'tp'] as const) {
    test(`the ${kind} rungs load, attach and measure (off-CPU and per-CPU on)`, async () => {
      const suffix = { tp_btf: 'btf', raw_tp: 'raw', tp: 'tp' }[kind];
      const ladders = Object.fromEntries(
        ['sched_wakeup', 'sched_wakeup_new', 'sched_switch', 'sched_migrate_task'].map((p) => [p, [{ program: `${p}_${suffix}`, kind }]]),
      );
      const object = BpfObject.open(path.join(defaultBpfObjectDir, 'sched.bpf.o'), {
        rodata: { targ_offcpu: true, targ_per_cpu: true },
        ladders,
      });
      try {
        for (const a of object.attachments) assert.ok(a.attached, `${a.probe} on ${kind}: ${a.failures.map((f) => f.reason).join('; ')}`);
        const cg = cgroups['sched-rung'];
        await workload(cg, ['spin', '2', '0.5', SPIN_CPU]);
        await workload(cg, ['sleep', '20', '5000']);
        const sums = (map: string) => {
          const batch = object.readMap(map);
          const out = new Map<number, { count: number; sumNs: number }>();
          // struct kotel_hist as the object's BTF lays it out; a series has an entry per chunk of slots in use
          const { size, fields } = object.layout('kotel_hist');
          const stride = Math.ceil(size / 8) * 8;
          const nSlots = (size - fields.slots.offset) / 8;
          for (let i = 0; i < batch.count; i++) {
            if (Number(batch.keys.readBigUInt64LE(i * 16)) !== cg.id) continue;
            const kindOf = batch.keys.readUInt32LE(i * 16 + 8);
            const total = out.get(kindOf) ?? { count: 0, sumNs: 0 };
            for (let off = i * batch.valueStride; off < (i + 1) * batch.valueStride; off += stride) {
              for (let s = 0; s < nSlots; s++) total.count += Number(batch.values.readBigUInt64LE(off + fields.slots.offset + 8 * s));
              total.sumNs += Number(batch.values.readBigUInt64LE(off + fields.sum_ns.offset));
            }
            out.set(kindOf, total);
          }
          return out;
        };
        const runq = sums('sched_runq_hist');
        const onSpinCpu = runq.get(Number(SPIN_CPU) + 1);
        assert.ok(onSpinCpu && onSpinCpu.sumNs > 0.4e9, `${kind}: the pair waited ~0.5 s on cpu ${SPIN_CPU}: ${JSON.stringify([...runq])}`);
        assert.equal(runq.get(0), undefined, 'per-CPU keys only');
        const off = sums('sched_offcpu_hist').get(0);
        assert.ok(off && off.count >= 20 && off.sumNs >= 20 * 5e6, `${kind}: 20 sleeps of 5 ms off CPU: ${JSON.stringify(off)}`);
      } finally {
        object.close();
      }
    });
  }
});
