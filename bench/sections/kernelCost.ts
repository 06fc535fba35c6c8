// 1. Kernel cost per event of every shipped program, next to an empty program on the same hook in the
// same run (the floor): run time ÷ run count from the kernel's BPF run-time stats, over a mix of the bench
// workloads, per repetition; medians.
import { BpfObject, native } from '../../agent/src/native';
import { familyNames } from '../../agent/src/probes/registry';
import { scrape } from '../../test/helpers/scrape';
import { startBenchAgent } from '../lib/agent';
import { ensureTracefs } from '../lib/bpftrace';
import { familyStatus } from '../lib/discover';
import { attachedHooks, openFloors } from '../lib/floors';
import { figure, notMeasured, withTarget, type Figure, type SectionResult } from '../lib/result';
import { runWorkload, WORKLOAD_SPECS } from '../lib/workloads';

type Sample = { ns: number; count: number };

async function agentStats(port: number): Promise<Map<string, Sample>> {
  const m = new Map<string, Sample>();
  for (const s of await scrape(port)) {
    const key = `${s.labels.kotel_family}/${s.labels.kotel_program}`;
    const cur = m.get(key) ?? { ns: 0, count: 0 };
    if (s.name.startsWith('kotel_bpf_run_time_seconds_total')) cur.ns = s.value * 1e9;
    else if (s.name.startsWith('kotel_bpf_runs_total')) cur.count = s.value;
    else continue;
    m.set(key, cur);
  }
  return m;
}

function floorStats(object: BpfObject): Map<string, Sample> {
  return new Map(object.progStats().map((s) => [s.program, { ns: Number(s.runTimeNs), count: Number(s.runCount) }]));
}

export async function kernelCostSection(o: { reps: number; seconds: number; families: string[] }): Promise<SectionResult> {
  const figures: Figure[] = [];
  const notes: string[] = [];
  const section = {
    id: 'kernel-cost',
    title: '1. Kernel cost per event (BPF run time ÷ run count), against an empty program on the same hook',
    figures,
    notes,
  };
  for (const f of familyNames) {
    const st = familyStatus(f);
    if (!st.available) figures.push(notMeasured(`${f}: every program`, `not measured: ${st.missing}`));
  }
  if (o.families.length === 0) return section;
  ensureTracefs();
  if (!native.enableRunTimeStats()) {
    notes.push('not measured: the kernel refused BPF_ENABLE_STATS');
    return section;
  }
  const agent = await startBenchAgent({ families: o.families, prometheus: true });
  let floorObj: BpfObject | undefined;
  try {
    // which rung won for every probe, as the agent exports it, and an empty program on each of those hooks
    const { hooks, skipped, unattached } = await attachedHooks(agent.promPort!);
    for (const p of unattached) figures.push(notMeasured(p, 'not attached on this kernel (`kotel probes` says why)'));
    for (const h of skipped)
      figures.push(notMeasured(`${h.family}/${h.program} (${h.kind})`, 'the uprobe target is chosen at run time; no floor'));
    const floors = await openFloors(hooks);
    floorObj = floors.object;
    notes.push(...floors.notes);

    const per: Record<string, { cost: number[]; floor: number[]; net: number[]; ratio: number[]; events: number[] }> = {};
    for (const h of hooks) per[h.floor] = { cost: [], floor: [], net: [], ratio: [], events: [] };
    for (let rep = 0; rep < o.reps; rep++) {
      const a0 = await agentStats(agent.promPort!);
      const f0 = floorStats(floorObj);
      for (const w of rep % 2 ? [...WORKLOAD_SPECS].reverse() : WORKLOAD_SPECS) {
        await runWorkload(w, o.seconds, w.name === 'tcp_rr' ? ['20'] : w.args); // reconnects: lifecycle events
      }
      const a1 = await agentStats(agent.promPort!);
      const f1 = floorStats(floorObj);
      for (const h of hooks) {
        const key = `${h.family}/${h.program}`;
        const dA = { ns: (a1.get(key)?.ns ?? 0) - (a0.get(key)?.ns ?? 0), count: (a1.get(key)?.count ?? 0) - (a0.get(key)?.count ?? 0) };
        const dF = {
          ns: (f1.get(h.floor)?.ns ?? 0) - (f0.get(h.floor)?.ns ?? 0),
          count: (f1.get(h.floor)?.count ?? 0) - (f0.get(h.floor)?.count ?? 0),
        };
        if (dA.count < 100 || dF.count < 100) continue; // too few events for a per-event figure
        const cost = dA.ns / dA.count;
        const floor = dF.ns / dF.count;
        const p = per[h.floor];
        p.cost.push(cost);
        p.floor.push(floor);
        p.net.push(cost - floor);
        p.ratio.push(cost / floor);
        p.events.push(dA.count);
      }
    }
    for (const h of hooks) {
      const p = per[h.floor];
      const name = `${h.family}/${h.program} (${h.kind} ${h.section.split('/').at(-1)})`;
      if (p.cost.length === 0) {
        figures.push(notMeasured(name, 'fewer than 100 events per repetition (the workloads do not drive this hook)'));
        continue;
      }
      figures.push(figure(`${name}: cost`, 'ns/event', p.cost));
      figures.push(figure(`${name}: floor (empty program)`, 'ns/event', p.floor));
      figures.push(figure(`${name}: cost − floor`, 'ns/event', p.net));
      const ratio = figure(`${name}: cost ÷ floor`, 'ratio', p.ratio);
      // the 2x target is for kernel-aggregated (tracepoint) programs; uprobes feed low-rate lifecycle events
      figures.push(h.kind === 'uprobe' || h.kind === 'uretprobe' ? ratio : withTarget(ratio, '<= 2 (aggregated programs)', (m) => m <= 2));
      figures.push(figure(`${name}: events per repetition`, 'events', p.events));
    }
    notes.push(
      'Events come from the bench workloads plus whatever else runs on the host (uprobe programs fire only when something calls the library).',
    );
    notes.push(
      'Both programs run on every event of the hook (the floor attached after the agent), so they see the same events and cache state; run-time accounting itself (~20 ns) is in both.',
    );
  } finally {
    floorObj?.close();
    await agent.stop();
    native.disableRunTimeStats();
  }
  return section;
}
