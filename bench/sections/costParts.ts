// 8. Where an aggregating program's time goes: bench/bpf/cost_parts.bpf.c, one program per part the families'
// programs are made of, all on tp_btf/sched_switch during the pipe ping-pong, next to an empty program; run
// time ÷ run count from the kernel's BPF stats, per repetition; medians. Tells how close to section 1's
// empty-program floor a program that reads the clock and updates a per-cgroup map can get on this machine.
import { BpfObject, native } from '../../agent/src/native';
import { scaleLayout } from '../../agent/src/kernel/exponentialBuckets';
import { buildBpf } from '../lib/build';
import { figure, type Figure, type SectionResult } from '../lib/result';
import { runWorkload, WORKLOAD_SPECS } from '../lib/workloads';

const PARTS: [program: string, what: string][] = [
  ['part_empty', 'empty program (floor)'],
  ['part_clock', 'bpf_ktime_get_ns()'],
  ['part_task_storage', "task storage get-or-create of the next task, one field's increment"],
  ['part_cgroup_id', "the next task's cgroup id (4 plain loads)"],
  ['part_percpu_array', 'per-CPU array lookup and increment'],
  ['part_cgroup_counter', 'per-cgroup counter: kotel_counter_add (per-CPU hash lookup, 16-byte key)'],
  ['part_cgroup_histogram', 'per-cgroup histogram: kotel_hist_add at scale 4 (lookup, bucket, 2 increments)'],
];

export async function costPartsSection(o: { reps: number; seconds: number }): Promise<SectionResult> {
  const figures: Figure[] = [];
  const notes: string[] = [];
  const section = { id: 'cost-parts', title: "8. Where an aggregating program's time goes (tp_btf sched_switch)", figures, notes };
  if (!native.enableRunTimeStats()) {
    notes.push('not measured: the kernel refused BPF_ENABLE_STATS');
    return section;
  }
  const layout = scaleLayout(4);
  const pingpong = WORKLOAD_SPECS.find((w) => w.name === 'pingpong')!;
  let object: BpfObject | undefined;
  try {
    object = BpfObject.open(await buildBpf('cost_parts'), {
      rodata: layout.knobs,
      ladders: Object.fromEntries(PARTS.map(([p]) => [p, [{ program: p, kind: 'tp_btf' as const }]])),
    });
    for (const a of object.attachments) if (!a.attached) notes.push(`${a.probe} did not attach: ${a.failures.at(-1)?.reason}`);
    const stats = () => new Map(object!.progStats().map((s) => [s.program, s]));
    const per = new Map<string, number[]>(PARTS.map(([p]) => [p, []]));
    for (let rep = 0; rep < o.reps; rep++) {
      const before = stats();
      await runWorkload(pingpong, o.seconds);
      const after = stats();
      for (const [p] of PARTS) {
        const a = after.get(p);
        const b = before.get(p);
        if (!a || !b || a.runCount - b.runCount < 1000n) continue;
        per.get(p)!.push(Number(a.runTimeNs - b.runTimeNs) / Number(a.runCount - b.runCount));
      }
    }
    const floor = per.get('part_empty')!;
    for (const [p, what] of PARTS) {
      figures.push(figure(what, 'ns/event', per.get(p)!));
      if (p !== 'part_empty')
        figures.push(
          figure(
            `${what}: minus the floor`,
            'ns/event',
            per.get(p)!.map((v, i) => v - (floor[i] ?? NaN)),
          ),
        );
    }
    notes.push(
      `Every program runs on every switch of ${o.reps} ping-pong runs of ${o.seconds} s (CPU 0); a run-queue delay needs two clock reads (wakeup, switch-in) and one histogram update, so the clock alone puts such a program above 2x the floor wherever bpf_ktime_get_ns costs more than the floor itself.`,
    );
  } finally {
    object?.close();
    native.disableRunTimeStats();
  }
  return section;
}
