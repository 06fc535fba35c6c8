#!/usr/bin/env node
/**
 * The integration suites inside Debian's kernels, one guest after the other (see guest.ts).
 *
 *   node dist/test/kernels/matrix.js [--timeout S] [--scale N] [--save DIR] [--output] [KERNEL...]
 *     KERNEL      6.1 6.1-rt 6.12 6.12-rt (default: all four)
 *     --timeout   per guest: boot + suites + power-off, default 2400 s
 *     --scale     KOTEL_TEST_TIME_SCALE of the suites' waits (test/helpers/timing.ts), default 8
 *     --save DIR  DIR/<kernel>/{output,console.log,results.jsonl}
 *     --output    print each guest's test output (spec reporter)
 *
 * In each guest: the build (dist, bpf/.output, native/build) as it was at the start, the modules the suites
 * need, then
 * `node --test --test-concurrency=1 dist/test/integration/*.test.js` (less the suites that boot guests
 * themselves) with KOTEL_TEST_TIME_SCALE and
 * KOTEL_TEST_EMULATED=1. Prints per kernel each file's pass/fail counts and seconds, the failing tests with the
 * first line of their error, boot + run time; then a table of all kernels. Exit 1 if anything failed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KERNELS, runInGuest, tail, verdict, type GuestResult } from './guest';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const REPORTER = path.join(__dirname, 'matrix-reporter.js');
const RESULTS = 'results.jsonl';
/** the build the guests run: copied once, so a rebuild on the host during the runs cannot reach them */
const BUILD = ['dist', path.join('bpf', '.output'), path.join('native', 'build')];
/** veth: the TCP suite's network namespaces; sch_tbf: its RTT shaping; nf_tables: its SYN drop */
const MODULES = ['veth', 'sch_tbf', 'sch_netem', 'nf_tables'];

interface Args {
  kernels: string[];
  timeoutMs: number;
  scale: number;
  save?: string;
  output: boolean;
}

interface Line {
  start?: number;
  file: string;
  name: string;
  nesting: number;
  suite: boolean;
  pass: boolean;
  skip: boolean;
  ms: number;
  error?: string;
  at: number;
}

interface FileResult {
  file: string;
  pass: number;
  fail: number;
  skip: number;
  seconds: number;
  failures: { name: string; error: string }[];
}

interface KernelResult {
  kernel: string;
  verdict: string;
  ok: boolean;
  files: FileResult[];
  seconds: number;
  command?: number;
}

const USAGE = `usage: matrix.js [--timeout S] [--scale N] [--save DIR] [--output] [KERNEL...]
  KERNEL: ${KERNELS.join(' ')} (default: all)`;

function usage(msg: string): never {
  process.stderr.write(`matrix.js: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const a: Args = { kernels: [], timeoutMs: 2400_000, scale: 8, output: false };
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i];
    const value = (): string => (i + 1 < argv.length ? argv[++i] : usage(`${w} needs a value`));
    if (w === '--timeout') a.timeoutMs = Number(value()) * 1000;
    else if (w === '--scale') a.scale = Number(value());
    else if (w === '--save') a.save = value();
    else if (w === '--output') a.output = true;
    else if (w === '-h' || w === '--help') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    } else if ((KERNELS as readonly string[]).includes(w)) a.kernels.push(w);
    else usage(`unknown argument ${w}`);
  }
  if (!(a.timeoutMs > 0)) usage('--timeout takes seconds > 0');
  if (!(a.scale >= 1)) usage('--scale takes a number >= 1');
  if (a.kernels.length === 0) a.kernels = [...KERNELS];
  return a;
}

/** the integration suites, but not those that boot guests themselves (kernel-matrix): no qemu in qemu */
export function suites(root = ROOT): string[] {
  const dir = path.join(root, 'dist', 'test', 'integration');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.test.js') && !fs.readFileSync(path.join(dir, f), 'utf8').includes('../kernels/guest'))
    .sort()
    .map((f) => path.join('dist', 'test', 'integration', f));
}

function snapshotBuild(): string {
  const snap = fs.mkdtempSync('/tmp/kotel-matrix-build-');
  for (const d of BUILD) fs.cpSync(path.join(ROOT, d), path.join(snap, d), { recursive: true });
  return snap;
}

function guestCommand(snap: string): string {
  return [
    ...BUILD.map((d) => `mount --bind ${snap}/${d} ${d}`),
    `modprobe -a ${MODULES.join(' ')} || echo "matrix: modprobe failed: the suites that need these modules will fail"`,
    // libibverbs lists devices over RDMA netlink before sysfs, and opening that socket autoloads ib_core,
    // whose empty device list hides the RDMA suite's fake sysfs device; without ib_core (as on the host, which
    // has no RDMA) the socket fails and libibverbs reads the fake tree. Only the guest's overlay is written.
    `echo 'install ib_core /bin/false' > /etc/modprobe.d/kotel-matrix-no-ib_core.conf`,
    [
      'node --test --test-concurrency=1',
      '--test-reporter=spec --test-reporter-destination=stdout',
      `--test-reporter=${REPORTER} --test-reporter-destination="$KOTEL_GUEST_OUT/${RESULTS}"`,
      ...suites(snap),
    ].join(' '),
  ].join('\n');
}

/** per file, in the order the files ran; a file's seconds run from the previous file's last event */
export function summarize(jsonl: string): FileResult[] {
  const files = new Map<string, FileResult>();
  let last: number | undefined;
  for (const text of jsonl.split('\n')) {
    if (!text.trim()) continue;
    let l: Line;
    try {
      l = JSON.parse(text) as Line;
    } catch {
      continue; // a line cut short when the guest died
    }
    if (l.start !== undefined) {
      last = l.start;
      continue;
    }
    const name = path.basename(l.file || 'unknown');
    let f = files.get(name);
    if (!f) files.set(name, (f = { file: name, pass: 0, fail: 0, skip: 0, seconds: 0, failures: [] }));
    f.seconds += (l.at - (last ?? l.at)) / 1000;
    last = l.at;
    if (l.suite) continue;
    if (l.skip) f.skip++;
    else if (l.pass) f.pass++;
    else {
      f.fail++;
      f.failures.push({ name: l.name, error: l.error ?? '' });
    }
  }
  return [...files.values()];
}

async function runKernel(kernel: string, a: Args, snap: string): Promise<KernelResult> {
  const outDir = fs.mkdtempSync(path.join(a.save ?? '/tmp', a.save ? `${kernel}-` : `kotel-matrix-${kernel}-`));
  let r: GuestResult;
  try {
    r = await runInGuest(kernel, guestCommand(snap), {
      timeoutMs: a.timeoutMs,
      cwd: ROOT,
      outDir,
      env: { KOTEL_TEST_TIME_SCALE: String(a.scale), KOTEL_TEST_EMULATED: '1' },
    });
  } catch (err) {
    process.stdout.write(`${kernel}: ERROR ${(err as Error).message}\n`);
    return { kernel, verdict: 'ERROR', ok: false, files: [], seconds: 0 };
  }
  const results = path.join(outDir, RESULTS);
  const files = summarize(fs.existsSync(results) ? fs.readFileSync(results, 'utf8') : '');
  fs.writeFileSync(path.join(outDir, 'output'), r.output);
  fs.writeFileSync(path.join(outDir, 'console.log'), r.console);
  const command = r.guestStart !== undefined && r.guestEnd !== undefined ? r.guestEnd - r.guestStart : undefined;
  const failed = files.reduce((n, f) => n + f.fail, 0);
  const ok = !r.timedOut && r.code === 0 && failed === 0 && files.length > 0;
  const res: KernelResult = { kernel, verdict: verdict(r), ok, files, seconds: r.seconds, command };

  if (a.output) process.stdout.write(r.output.endsWith('\n') ? r.output : r.output + '\n');
  process.stdout.write(
    `== ${kernel}: ${res.verdict}, boot + run ${r.seconds.toFixed(0)} s` +
      (command !== undefined ? ` (suites ${command.toFixed(0)} s)` : '') +
      `, saved in ${outDir}\n`,
  );
  for (const f of files) {
    process.stdout.write(
      `  ${f.file.padEnd(28)} ${String(f.pass).padStart(3)} passed ${String(f.fail).padStart(3)} failed` +
        (f.skip ? ` ${f.skip} skipped` : '') +
        `  ${f.seconds.toFixed(0).padStart(5)} s\n`,
    );
    for (const x of f.failures) process.stdout.write(`    FAIL ${x.name}\n         ${x.error}\n`);
  }
  if (!ok && (files.length === 0 || r.timedOut || r.code === null)) {
    process.stdout.write(`--- ${kernel}: last lines of the output\n${tail(r.output, 30)}\n`);
    process.stdout.write(`--- ${kernel}: last lines of the console\n${tail(r.console, 30)}\n---\n`);
  }
  return res;
}

function table(results: KernelResult[]): string {
  const names = [...new Set(results.flatMap((k) => k.files.map((f) => f.file)))];
  const rows = [['kernel', 'result', 'boot+run s', ...names.map((n) => n.replace(/\.test\.js$/, ''))]];
  for (const k of results) {
    const cell = (n: string) => {
      const f = k.files.find((x) => x.file === n);
      return f ? `${f.pass}/${f.pass + f.fail} ${f.seconds.toFixed(0)}s` : '-';
    };
    rows.push([k.kernel, k.ok ? 'ok' : `FAIL (${k.verdict})`, k.seconds.toFixed(0), ...names.map(cell)]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ')).join('\n') + '\n';
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (a.save) fs.mkdirSync(a.save, { recursive: true });
  const results: KernelResult[] = [];
  const snap = snapshotBuild();
  try {
    for (const kernel of a.kernels) results.push(await runKernel(kernel, a, snap));
  } finally {
    fs.rmSync(snap, { recursive: true, force: true });
  }
  process.stdout.write('\n' + table(results));
  process.exit(results.every((k) => k.ok) ? 0 : 1);
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`matrix.js: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
