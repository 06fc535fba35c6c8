// 7. The kernel histogram's cost per event at each metrics.histogramScale, next to the log2 histogram kotel
// kept before (42 slots) and an empty program, in the same run: bench/bpf/hist_cost.bpf.c on this process's
// ftruncate() calls, whose lengths (log-uniform, 1 us to 100 ms, as ns) are the recorded values. Run time ÷
// run count from the kernel's BPF stats, per repetition; medians. Also each scale's map value size.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BpfObject, native } from '../../agent/src/native';
import { MAX_SCALE, scaleLayout } from '../../agent/src/kernel/exponentialBuckets';
import { buildBpf } from '../lib/build';
import { figure, type Figure, type SectionResult } from '../lib/result';

const CALLS = 200_000;

function stats(objects: BpfObject[]): Map<string, { ns: number; count: number }> {
  const m = new Map<string, { ns: number; count: number }>();
  objects.forEach((o, scale) => {
    for (const s of o.progStats()) m.set(`${scale}/${s.program}`, { ns: Number(s.runTimeNs), count: Number(s.runCount) });
  });
  return m;
}

export async function histogramCostSection(o: { reps: number }): Promise<SectionResult> {
  const figures: Figure[] = [];
  const notes: string[] = [];
  const section = { id: 'histogram-cost', title: '7. Kernel histogram cost per event, by metrics.histogramScale', figures, notes };
  if (!native.enableRunTimeStats()) {
    notes.push('not measured: the kernel refused BPF_ENABLE_STATS');
    return section;
  }
  const objects: BpfObject[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-bench-hist-'));
  const fd = fs.openSync(path.join(dir, 'f'), 'w+');
  fs.closeSync(fd);
  const ro = fs.openSync(path.join(dir, 'f'), 'r');
  try {
    const object = await buildBpf('hist_cost');
    for (let scale = 0; scale <= MAX_SCALE; scale++) {
      const layout = scaleLayout(scale);
      // only scale 0's object runs the reference programs: one floor and one log2 figure
      const programs = scale === 0 ? ['cost_floor', 'cost_log2', 'cost_exp'] : ['cost_exp'];
      objects.push(
        BpfObject.open(object, {
          rodata: { targ_tgid: process.pid, ...layout.knobs },
          ladders: Object.fromEntries(programs.map((p) => [p, [{ program: p, kind: 'raw_tp' as const }]])),
        }),
      );
    }
    let seed = 0x2545f491;
    const values = Array.from({ length: CALLS }, () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return Math.round(1000 * Math.exp((seed / 2 ** 32) * Math.log(100_000)));
    });
    const per = new Map<string, number[]>();
    for (let rep = 0; rep < o.reps; rep++) {
      const before = stats(objects);
      for (const v of values) {
        try {
          fs.ftruncateSync(ro, v);
        } catch {
          // EINVAL: read-only; the tracepoint saw the length
        }
      }
      const after = stats(objects);
      for (const [k, a] of after) {
        const b = before.get(k)!;
        if (a.count - b.count < CALLS) continue;
        per.set(k, [...(per.get(k) ?? []), (a.ns - b.ns) / (a.count - b.count)]);
      }
    }
    const floor = per.get('0/cost_floor') ?? [];
    figures.push(figure('empty program (floor)', 'ns/event', floor));
    figures.push(figure('log2 histogram, 42 slots (before exponential buckets)', 'ns/event', per.get('0/cost_log2') ?? []));
    for (let scale = 0; scale <= MAX_SCALE; scale++) {
      figures.push(
        figure(
          `exponential, scale ${scale} (${2 ** scale}/octave, an entry of 16 slots per chunk in use)`,
          'ns/event',
          per.get(`${scale}/cost_exp`) ?? [],
        ),
      );
    }
    notes.push(
      `${CALLS} ftruncate() calls per repetition with log-uniform lengths from 1 us to 100 ms (as ns); every program runs on every call, one histogram series each (an entry per 16 slots in use).`,
    );
  } finally {
    for (const obj of objects) obj.close();
    fs.closeSync(ro);
    fs.rmSync(dir, { recursive: true, force: true });
    native.disableRunTimeStats();
  }
  return section;
}
