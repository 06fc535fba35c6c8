// 6. The container-library scan (agent/src/probes/rdma/libraryScan.ts) with 1 000 idle processes, a tenth
// of them mapping one of 10 copies of libibverbs (bench/workloads/idle_procs.c): time per scan, the longest
// event-loop block during one (perf_hooks monitorEventLoopDelay) and the files read, for the incremental
// scanner (first scan, then steady state: nothing changed) and for reading every process's maps in one
// synchronous pass, as the scan did before it was incremental. Attaching is left out (no-op hooks): it
// happens once per copy either way.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { mappedLibraries } from '../../agent/src/probes/rdma/library';
import { LibraryScanner, type ScanCounts } from '../../agent/src/probes/rdma/libraryScan';
import { workloadPath } from '../lib/build';
import { sleep } from '../lib/proc';
import { figure, type SectionResult } from '../lib/result';

const PROCESSES = 1000;
const EVERY = 10;
const COPIES = 10;
const SYSTEM_LIB = '/usr/lib/x86_64-linux-gnu/libibverbs.so.1';

/** every /proc/PID/maps read in one synchronous pass (the scan before it was incremental) */
function fullScan(): ScanCounts {
  const pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  const counts: ScanCounts = { processes: 0, filesRead: 1, mapsRead: 0 };
  const found = new Set<string>();
  for (const pid of pids) {
    let maps: string;
    try {
      maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8');
    } catch {
      continue;
    }
    counts.processes++;
    counts.filesRead++;
    counts.mapsRead++;
    for (const id of mappedLibraries(maps, `/proc/${pid}/root`).keys()) found.add(id);
  }
  return counts;
}

/** wall time of one scan and the longest event-loop delay seen meanwhile, in ms */
async function timed(scan: () => Promise<ScanCounts> | ScanCounts): Promise<{ ms: number; blockMs: number; counts: ScanCounts }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await sleep(10); // its timer measures from its last tick: a block right after enable() would not count
  const t0 = process.hrtime.bigint();
  const counts = await scan();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await sleep(5); // lets the histogram's timer see a block that ended the scan
  h.disable();
  return { ms, blockMs: h.max / 1e6, counts };
}

export async function libraryScanSection(o: { reps: number; steadyScans: number }): Promise<SectionResult> {
  const notes: string[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-bench-libs-'));
  const copies = Array.from({ length: COPIES }, (_, i) => {
    const d = path.join(dir, String(i));
    fs.mkdirSync(d);
    fs.copyFileSync(SYSTEM_LIB, path.join(d, 'libibverbs.so.1'));
    return path.join(d, 'libibverbs.so.1');
  });
  const child = spawn(workloadPath('idle_procs'), [String(PROCESSES), String(EVERY), ...copies], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => String(d).includes('ready') && resolve());
      child.on('exit', (code) => reject(new Error(`idle_procs exited ${code}`)));
    });
    const v = {
      fullMs: [] as number[],
      fullBlock: [] as number[],
      firstMs: [] as number[],
      firstBlock: [] as number[],
      steadyMs: [] as number[],
      steadyBlock: [] as number[],
    };
    const files = { full: 0, first: 0, firstMaps: 0, steady: 0, steadyMaps: 0, processes: 0 };
    let attached = 0;
    for (let rep = 0; rep < o.reps; rep++) {
      const full = await timed(fullScan);
      v.fullMs.push(full.ms);
      v.fullBlock.push(full.blockMs);
      files.full = full.counts.filesRead;
      files.processes = full.counts.processes;
      attached = 0;
      const scanner = new LibraryScanner({ attach: () => (attached++, []), detach: () => {}, info: () => {}, warn: () => {} }, undefined);
      const first = await timed(() => scanner.scan());
      v.firstMs.push(first.ms);
      v.firstBlock.push(first.blockMs);
      files.first = first.counts.filesRead;
      files.firstMaps = first.counts.mapsRead;
      for (let s = 0; s < o.steadyScans; s++) {
        const steady = await timed(() => scanner.scan());
        v.steadyMs.push(steady.ms);
        v.steadyBlock.push(steady.blockMs);
        files.steady = steady.counts.filesRead;
        files.steadyMaps = steady.counts.mapsRead;
      }
      scanner.close();
    }
    notes.push(
      `${PROCESSES} idle processes (forks of one small C program, ~20 mappings each; real services map far more, which makes a maps read dearer), ${PROCESSES / EVERY} of them with one of ${COPIES} libibverbs copies; ${files.processes} processes on the machine in all. Incremental scanner found ${attached} copies to attach. Files read per scan (last rep): every maps ${files.full}, incremental first ${files.first}, steady ${files.steady} (of which maps: ${files.steadyMaps}).`,
    );
    return {
      id: 'library-scan',
      title: '6. RDMA library scan (1 000 processes)',
      figures: [
        figure('library scan, every maps file read at once (before): time per scan', 'ms', v.fullMs),
        figure('library scan, every maps file read at once (before): longest event-loop block', 'ms', v.fullBlock),
        figure('library scan, incremental: first scan', 'ms', v.firstMs),
        figure('library scan, incremental: first scan, longest event-loop block', 'ms', v.firstBlock),
        figure('library scan, incremental: steady-state scan', 'ms', v.steadyMs),
        figure('library scan, incremental: steady-state scan, longest event-loop block', 'ms', v.steadyBlock),
        figure('library scan: files read per scan, every maps file (before)', 'files', [files.full]),
        figure('library scan: files read per scan, incremental first', 'files', [files.first]),
        figure('library scan: files read per scan, incremental steady state', 'files', [files.steady]),
        figure('library scan: maps files read per scan, every maps file (before)', 'files', [files.full - 1]),
        figure('library scan: maps files read per scan, incremental first', 'files', [files.firstMaps]),
        figure('library scan: maps files read per scan, incremental steady state', 'files', [files.steadyMaps]),
      ],
      notes,
    };
  } finally {
    child.stdin.end();
    await new Promise((r) => (child.exitCode === null ? child.on('exit', r) : r(null)));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
