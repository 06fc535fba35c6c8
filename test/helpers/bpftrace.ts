// Debian's bpftrace as the independent reference tracer in integration tests.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { kernelAtLeast } from '../../agent/src/host/kernelRelease';
import { tool } from './tools';
import { scaled } from './timing';

export interface Bpftrace {
  /** events its programs were skipped for because another BPF program was running on that CPU, as the
   * kernel counts them (0 before 6.7: see missBound) */
  misses(): number;
  /** SIGINT (bpftrace prints its maps) and everything it printed */
  stop(): Promise<string>;
}

const READY = 'kotel-bpftrace-ready';
/** trace_call_bpf counts the programs it skips since Linux 6.7 */
const MISSES_COUNTED = kernelAtLeast(6, 7) === true;

interface ProgInfo {
  id: number;
  type: string;
  recursion_misses?: number;
}

function programs(): ProgInfo[] {
  return JSON.parse(execFileSync(tool('bpftool'), ['-j', 'prog', 'show'], { encoding: 'utf8' })) as ProgInfo[];
}

/** the most events bpftrace may have been skipped for, with `misses` counted (misses(), read before stop())
 * and `seen` events seen: its misses where the kernel counts them; before 6.7, which counts no misses of
 * classic tracepoints and kprobes, up to 5% of `seen` more */
export function missBound(misses: number, seen: number): number {
  return MISSES_COUNTED ? misses : misses + Math.ceil(0.05 * seen);
}

/** starts bpftrace and resolves once every probe is attached (its BEGIN probe runs after attaching) */
export async function startBpftrace(script: string): Promise<Bpftrace> {
  if (!fs.existsSync('/sys/kernel/tracing/events')) execFileSync(tool('mount'), ['-t', 'tracefs', 'tracefs', '/sys/kernel/tracing']);
  // bpftool here cannot tell which process owns a program, so bpftrace's are the ones that appear
  const before = new Set(programs().map((p) => p.id));
  const tracer = spawn(tool('bpftrace'), ['-e', `BEGIN { printf("${READY}\\n"); } ${script}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  // a test that fails before stop() must not leave bpftrace running, nor hang on its pipes
  tracer.unref();
  (tracer.stdout as unknown as { unref(): void }).unref();
  (tracer.stderr as unknown as { unref(): void }).unref();
  process.once('exit', () => tracer.kill('SIGKILL'));
  let out = '';
  tracer.stdout.on('data', (d) => (out += d));
  tracer.stderr.on('data', (d) => (out += d));
  const exited = new Promise((r) => tracer.on('exit', r));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bpftrace did not start: ${out}`)), scaled(30_000));
    tracer.stdout.on('data', () => out.includes(READY) && (clearTimeout(timer), resolve()));
    tracer.on('exit', (code) => reject(new Error(`bpftrace exited ${code}: ${out}`)));
  });
  const mine = new Set(
    programs()
      .filter((p) => !before.has(p.id) && (p.type === 'tracepoint' || p.type === 'kprobe'))
      .map((p) => p.id),
  );
  return {
    misses() {
      return programs()
        .filter((p) => mine.has(p.id))
        .reduce((n, p) => n + (p.recursion_misses ?? 0), 0);
    },
    async stop() {
      tracer.kill('SIGINT');
      await exited;
      return out;
    },
  };
}
