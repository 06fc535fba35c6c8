// npm run bench [-- --quick] [-- --sections 1,3]: kotel's cost to the workloads it watches. Never part of
// npm test. Prints a table and writes bench/results/latest.{json,md} (quick runs: quick.{json,md}).
import { Command } from 'commander';
import { buildWorkloads } from './lib/build';
import { availableFamilies } from './lib/discover';
import { machine, otherActivity } from './lib/machine';
import * as os from 'node:os';
import { attachPrevious, printTable, writeResults, type BenchRun } from './lib/report';
import type { SectionResult } from './lib/result';
import { collectionSection } from './sections/collection';
import { footprintSection } from './sections/footprint';
import { costPartsSection } from './sections/costParts';
import { histogramCostSection } from './sections/histogramCost';
import { kernelCostSection } from './sections/kernelCost';
import { libraryScanSection } from './sections/libraryScan';
import { overheadSection, type AgentUnderLoad } from './sections/overhead';
import { streamingSection } from './sections/streaming';

const FULL = {
  kernelCost: { reps: 5, seconds: 0.5 },
  overhead: { reps: 5, seconds: 2 },
  streaming: { reps: 3, seconds: 2 },
  collection: { reps: 3, seconds: 5 },
  footprint: { windows: 6, seconds: 10 },
  libraryScan: { reps: 3, steadyScans: 5 },
  histogramCost: { reps: 5 },
  costParts: { reps: 5, seconds: 1 },
};
const QUICK: typeof FULL = {
  kernelCost: { reps: 2, seconds: 0.3 },
  overhead: { reps: 2, seconds: 1 },
  streaming: { reps: 1, seconds: 1 },
  collection: { reps: 1, seconds: 3 },
  footprint: { windows: 1, seconds: 5 },
  libraryScan: { reps: 1, steadyScans: 3 },
  histogramCost: { reps: 2 },
  costParts: { reps: 2, seconds: 0.5 },
};

/** each step's section id (SectionResult.id), which a failed step's placeholder takes too */
const SECTION_IDS: Record<string, string> = {
  '1': 'kernel-cost',
  '2': 'overhead',
  '3': 'streaming',
  '4': 'collection',
  '5': 'footprint',
  '6': 'library-scan',
  '7': 'histogram-cost',
  '8': 'cost-parts',
};
const ALL_SECTIONS = Object.keys(SECTION_IDS);

async function main(): Promise<void> {
  const opts = new Command('bench')
    .option('--quick', 'smoke run: fewer and shorter repetitions (results/quick.*)')
    .option('--sections <list>', 'sections to run, comma-separated (1-8; the others keep their last results)', ALL_SECTIONS.join(','))
    .option('--families <list>', 'families the agent runs with, comma-separated (default: every family built)')
    .parse()
    .opts<{ quick?: boolean; sections: string; families?: string }>();
  if (process.getuid?.() !== 0) {
    console.error('kotel bench: needs root (BPF programs, bpftrace, cgroups); run: sudo npm run bench');
    process.exit(2);
  }
  const p = opts.quick ? QUICK : FULL;
  const want = new Set(opts.sections.split(',').map((s) => s.trim()));
  const started = Date.now();
  const m = machine();
  const built = availableFamilies();
  const families = opts.families ? opts.families.split(',').map((f) => f.trim()) : built;
  const unknown = families.filter((f) => !built.includes(f));
  if (unknown.length) {
    console.error(`kotel bench: --families ${unknown.join(',')}: not a built family (built: ${built.join(', ')})`);
    process.exit(2);
  }
  console.log(`kotel bench (${opts.quick ? 'quick' : 'full'}): families built: ${families.join(', ') || 'none'}`);
  if (m.otherActivity.length)
    console.log(`note: the machine is shared right now (${m.otherActivity.length} other agents/tests/tracers running)`);
  await buildWorkloads();

  const sections: SectionResult[] = [];
  let underLoad: AgentUnderLoad | undefined;
  const step = async (id: string, title: string, fn: () => Promise<SectionResult>) => {
    if (!want.has(id)) return;
    console.log(`running ${title} ...`);
    try {
      sections.push(await fn());
    } catch (err) {
      sections.push({
        id: SECTION_IDS[id],
        title,
        figures: [{ name: title, unit: '', notMeasured: `failed: ${(err as Error).message.split('\n')[0]}` }],
        notes: [],
      });
    }
  };
  await step('1', '1. kernel cost per event', () => kernelCostSection({ ...p.kernelCost, families }));
  await step('2', '2. overhead on workloads', async () => {
    const r = await overheadSection({ ...p.overhead, families });
    underLoad = r.underLoad;
    return r.section;
  });
  await step('3', '3. streaming ceiling', () => streamingSection(p.streaming));
  await step('4', '4. collection and export cost', () => collectionSection(p.collection));
  await step('5', '5. footprint', () => footprintSection({ ...p.footprint, families, underLoad }));
  await step('6', '6. RDMA library scan', () => libraryScanSection(p.libraryScan));
  await step('7', '7. histogram cost per event', () => histogramCostSection(p.histogramCost));
  await step('8', "8. an aggregating program's parts", () => costPartsSection(p.costParts));

  const run: BenchRun = {
    mode: opts.quick ? 'quick' : 'full',
    machine: m,
    machineAtEnd: { loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100), otherActivity: otherActivity() },
    durationSeconds: (Date.now() - started) / 1000,
    sections: sections.map((s) => ({ ...s, ran: `${m.date} (commit ${m.commit})` })).sort((a, b) => a.title.localeCompare(b.title)),
  };
  attachPrevious(run, opts.quick ? 'quick' : 'latest');
  printTable(run);
  const files = writeResults(run, opts.quick ? 'quick' : 'latest', want.size < ALL_SECTIONS.length);
  console.log(`\nwrote ${files.join(', ')}`);
}

main().catch((err) => {
  console.error(`kotel bench: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
