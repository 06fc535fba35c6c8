// The bpftrace equivalent of the kotel families: bench/bpftrace/<family>.bt scripts, concatenated.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tool } from '../../test/helpers/tools';
import { BENCH_SRC } from './paths';
import { spawnLines, sleep, type LineChild } from './proc';

export function bpftraceScript(family: string): string | undefined {
  const file = path.join(BENCH_SRC, 'bpftrace', `${family}.bt`);
  return fs.existsSync(file) ? file : undefined;
}

export function ensureTracefs(): void {
  if (!fs.existsSync('/sys/kernel/tracing/events')) {
    execFileSync(tool('mount', 'bench'), ['-t', 'tracefs', 'tracefs', '/sys/kernel/tracing']);
  }
}

/** starts bpftrace on the scripts of `families` and waits until its probes are attached */
export async function startBpftrace(families: string[]): Promise<LineChild> {
  ensureTracefs();
  const text = families.map((f) => fs.readFileSync(bpftraceScript(f)!, 'utf8')).join('\n');
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-bench-')), 'families.bt');
  fs.writeFileSync(file, text);
  const bt = spawnLines('bpftrace', [file]);
  await bt.waitFor(/Attaching \d+ probes/, 60_000);
  await sleep(1000); // attaching is printed before the probes are attached
  return bt;
}
