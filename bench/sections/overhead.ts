// 2. Overhead on real workloads: throughput with kotel on ÷ off, with empty programs on the hooks kotel
// attaches ÷ off (the floor any BPF tool pays there), and with the bpftrace equivalent ÷ off, in alternating
// repetitions (the order of the configurations flips every repetition), medians of the per-repetition ratios.
import type { BpfObject } from '../../agent/src/native';
import { startBenchAgent, type BenchAgent } from '../lib/agent';
import { attachedHooks, openFloors, type Hook } from '../lib/floors';
import { bpftraceScript, startBpftrace } from '../lib/bpftrace';
import { familyStatus } from '../lib/discover';
import type { LineChild } from '../lib/proc';
import { figure, notMeasured, withTarget, type Figure, type SectionResult } from '../lib/result';
import { runWorkload, WORKLOAD_SPECS, type WorkloadSpec } from '../lib/workloads';
import { rdmaBurstFigures, rdmaVerbFigures } from './rdmaVerbs';

type Config = 'off' | 'kotel' | 'empty' | 'bpftrace' | 'kotel-tcp';

/** kotel's overhead at most this many times the empty programs' on the same hooks */
const OVERHEAD_VS_EMPTY = 1.5;

/** a throttled spinner's throughput is its quota, whatever runs: not an overhead figure */
const OVERHEAD_WORKLOADS = WORKLOAD_SPECS.filter((w) => !w.cpuMax);

/** the hooks the agent with `families` attaches */
async function hooksOf(families: string[]): Promise<Hook[]> {
  const agent = await startBenchAgent({ families, prometheus: true });
  try {
    return (await attachedHooks(agent.promPort!)).hooks;
  } finally {
    await agent.stop();
  }
}

export interface OverheadOptions {
  reps: number;
  seconds: number;
  families: string[];
}

export interface AgentUnderLoad {
  /** agent CPU, fraction of one core, per workload run */
  cores: number[];
  rssMb: number[];
}

export async function overheadSection(o: OverheadOptions): Promise<{ section: SectionResult; underLoad: AgentUnderLoad }> {
  const notes: string[] = [];
  const figures: Figure[] = [];
  const underLoad: AgentUnderLoad = { cores: [], rssMb: [] };
  const section: SectionResult = { id: 'overhead', title: '2. Overhead on workloads (throughput with the tool ÷ without)', figures, notes };
  if (o.families.length === 0) {
    figures.push(notMeasured('all workloads', 'no family built yet'));
    return { section, underLoad };
  }
  const btFamilies = o.families.filter((f) => bpftraceScript(f));
  const tcp = o.families.includes('tcp');
  notes.push(`kotel: families ${o.families.join(', ')} on; bpftrace: bench/bpftrace/{${btFamilies.join(',')}}.bt together.`);
  notes.push(
    `${o.reps} repetitions x ${o.seconds} s per workload and configuration; ratio = median of per-repetition ratios, spread = min..max.`,
  );

  const tput: Record<string, Record<Config, number[]>> = {};
  for (const w of OVERHEAD_WORKLOADS) tput[w.name] = { off: [], kotel: [], empty: [], bpftrace: [], 'kotel-tcp': [] };

  const hooks = await hooksOf(o.families);
  notes.push(`empty: ${hooks.length} empty programs on the hooks kotel attaches (bench/bpf/floor.bpf.c), no agent.`);
  const configs: Config[] = [
    'off',
    'kotel',
    'empty',
    ...(btFamilies.length ? (['bpftrace'] as Config[]) : []),
    ...(tcp ? (['kotel-tcp'] as Config[]) : []),
  ];
  for (let rep = 0; rep < o.reps; rep++) {
    const order = rep % 2 === 0 ? configs : [...configs].reverse();
    for (const config of order) {
      let agent: BenchAgent | undefined;
      let bt: LineChild | undefined;
      let floors: BpfObject | undefined;
      if (config === 'kotel') agent = await startBenchAgent({ families: o.families });
      if (config === 'empty') floors = (await openFloors(hooks)).object;
      if (config === 'kotel-tcp') agent = await startBenchAgent({ families: ['tcp'] });
      if (config === 'bpftrace') bt = await startBpftrace(btFamilies);
      try {
        const workloads: WorkloadSpec[] = config === 'kotel-tcp' ? WORKLOAD_SPECS.filter((w) => w.name === 'tcp_rr') : OVERHEAD_WORKLOADS;
        for (const w of workloads) {
          const c0 = agent?.cpuSeconds() ?? 0;
          const t0 = Date.now();
          tput[w.name][config].push(await runWorkload(w, o.seconds));
          if (agent && config === 'kotel') {
            underLoad.cores.push((agent.cpuSeconds() - c0) / ((Date.now() - t0) / 1000));
            underLoad.rssMb.push(agent.rssMb());
          }
        }
      } finally {
        await agent?.stop();
        floors?.close();
        await bt?.stop('SIGINT');
      }
    }
  }

  const ratio = (w: string, c: Config) => tput[w][c].map((v, i) => v / tput[w].off[i]);
  for (const w of OVERHEAD_WORKLOADS) {
    const missing = w.families.filter((f) => !o.families.includes(f));
    const partial = missing.length ? `its families ${missing.join(', ')} not built yet: only ${o.families.join(', ')} on` : undefined;
    figures.push(figure(`${w.name}: throughput, kotel off`, w.unit, tput[w.name].off));
    let k = figure(`${w.name}: kotel on ÷ off`, 'ratio', ratio(w.name, 'kotel'), { note: partial });
    const e = figure(`${w.name}: empty programs on kotel's hooks ÷ off`, 'ratio', ratio(w.name, 'empty'));
    const b = figure(
      `${w.name}: bpftrace ÷ off`,
      'ratio',
      ratio(w.name, 'bpftrace'),
      btFamilies.length ? {} : { notMeasured: 'no bpftrace script for the built families' },
    );
    if (w.name === 'pingpong') {
      const emptyMedian = e.summary?.median ?? 1;
      k = withTarget(
        k,
        `overhead (1 - ratio) <= ${OVERHEAD_VS_EMPTY} x the empty programs' (${(1 - emptyMedian).toFixed(3)})`,
        (m) => 1 - m <= OVERHEAD_VS_EMPTY * (1 - emptyMedian),
      );
    }
    figures.push(k, e, b);
    if (w.name === 'tcp_rr') {
      const t = tcp
        ? withTarget(figure('tcp_rr: kotel (TCP family only) ÷ off', 'ratio', ratio('tcp_rr', 'kotel-tcp')), '>= 0.98', (m) => m >= 0.98)
        : notMeasured('tcp_rr: kotel (TCP family only) ÷ off', familyStatus('tcp').missing ?? 'tcp not built');
      figures.push(t);
    }
  }
  const rdma = familyStatus('rdma');
  if (rdma.available) figures.push(...(await rdmaVerbFigures(o.reps)), ...(await rdmaBurstFigures(o.reps)));
  else figures.push(notMeasured('rdma verbs loop: time per verb call, kotel on ÷ off', `not measured: ${rdma.missing}`));
  return { section, underLoad };
}
