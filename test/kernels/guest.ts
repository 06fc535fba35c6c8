/**
 * Run a command inside one of Debian's kernels, booted with qemu (TCG) on this machine.
 *
 * The guest's root is the host's own `/`, shared read-only over 9p (multidevs=remap) under a tmpfs overlay, so
 * the repository, node and every tool are at the same paths as on the host; the kernel's own modules
 * (extracted by fetch.sh) are bound over /lib/modules. A second, writable 9p share (a fresh temp dir) carries
 * the stage-2 script and the command in, and the command's output and exit code out.
 *
 *   const r = await runInGuest('6.1', 'node dist/agent/src/cli.js probes --json');
 *   // r.code: the command's exit code (null: it never finished), r.output: its stdout+stderr,
 *   // r.console: the kernel's console (boot log, oopses), r.timedOut, r.seconds (boot + run + power-off)
 *
 * The command also sees KOTEL_GUEST_OUT, a directory on the results share: files written there are copied to
 * opts.outDir after the run. KOTEL_GUEST_KERNEL names the kernel (6.1, ...).
 *
 * Kernels: 6.1, 6.1-rt, 6.12, 6.12-rt (test/kernels/fetch.sh fetches them into $KOTEL_KERNEL_CACHE,
 * default /var/cache/kotel/kernels, the first time). Needs root and the Debian packages qemu-system-x86,
 * busybox-static, cpio, kmod.
 *
 * Under TCG everything runs ~10x slower than on the host: boot ~15-20 s, node start-up ~20 s.
 * `-accel tcg,thread=single`: with one host thread per vCPU, patching a tracepoint's code while BPF
 * programs attach oopses (int3 in an interrupt) — an emulator artefact; a single thread for both vCPUs does not.
 */
import { spawn, execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tool } from '../helpers/tools';

export const KERNELS = ['6.1', '6.1-rt', '6.12', '6.12-rt'] as const;

export interface GuestOptions {
  /** kill the guest after this long (default 600 s); the result then has timedOut=true and code null */
  timeoutMs?: number;
  /** extra environment of the command (PATH, HOME, TERM are set already) */
  env?: Record<string, string>;
  /** directory the command runs in (default: the host's current directory; the same path in the guest) */
  cwd?: string;
  /** keep the temp dir (command, output, console.log) and name it in the result */
  keepDir?: boolean;
  /** copy the files the command wrote to $KOTEL_GUEST_OUT (a directory on the results share) here */
  outDir?: string;
  /** called with each chunk of the console as it arrives */
  onConsole?: (chunk: string) => void;
  /** qemu's memory (default 4G) and vCPUs (default 2) */
  memory?: string;
  smp?: number;
}

export interface GuestResult {
  /** exit code of the command; null when it did not finish (timeout, panic, boot failure) */
  code: number | null;
  /** the command's stdout and stderr, interleaved */
  output: string;
  /** the serial console: kernel messages, initramfs errors */
  console: string;
  timedOut: boolean;
  /** wall-clock seconds from starting qemu to its exit (boot + run + power-off) */
  seconds: number;
  /** guest uptime (s) when the command started and ended, if it got that far */
  guestStart?: number;
  guestEnd?: number;
  /** exit status of qemu itself */
  qemuExit?: { code: number | null; signal: NodeJS.Signals | null };
  /** the kept temp dir (keepDir) */
  dir?: string;
}

export interface KernelFiles {
  kernel: string;
  package: string;
  kver: string;
  vmlinuz: string;
  initramfs: string;
  modules: string;
}

export function kernelCache(): string {
  return process.env.KOTEL_KERNEL_CACHE || '/var/cache/kotel/kernels';
}

/** test/kernels/fetch.sh, from the sources (ts) or from dist/test/kernels (js) */
export function fetchScript(): string {
  const candidates = [path.join(__dirname, 'fetch.sh'), path.resolve(__dirname, '../../../test/kernels/fetch.sh')];
  for (const c of candidates) if (fs.existsSync(c)) return c;
  throw new Error(`fetch.sh not found (looked at ${candidates.join(', ')})`);
}

function readKernelEnv(kernel: string): KernelFiles | undefined {
  const file = path.join(kernelCache(), kernel, 'kernel.env');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const v: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) v[m[1]] = m[2];
  }
  const files: KernelFiles = {
    kernel,
    package: v.PACKAGE ?? '',
    kver: v.KVER ?? '',
    vmlinuz: v.VMLINUZ ?? '',
    initramfs: v.INITRAMFS ?? '',
    modules: v.MODULES ?? '',
  };
  const ok =
    fs.existsSync(files.vmlinuz) && fs.existsSync(files.initramfs) && fs.existsSync(path.join(files.modules, files.kver, 'modules.dep'));
  return ok ? files : undefined;
}

/** the cached kernel, fetched (fetch.sh) first if it is not there yet */
export async function ensureKernel(kernel: string): Promise<KernelFiles> {
  if (!(KERNELS as readonly string[]).includes(kernel)) {
    throw new Error(`unknown kernel "${kernel}" (known: ${KERNELS.join(', ')})`);
  }
  const cached = readKernelEnv(kernel);
  if (cached) return cached;
  await new Promise<void>((resolve, reject) => {
    execFile('bash', [fetchScript(), kernel], { maxBuffer: 16 << 20 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(stderr.trim().split('\n').pop() || `fetch.sh ${kernel} failed: ${err.message}`));
      else resolve();
    });
  });
  const files = readKernelEnv(kernel);
  if (!files) throw new Error(`fetch.sh ${kernel} succeeded but ${path.join(kernelCache(), kernel, 'kernel.env')} is incomplete`);
  return files;
}

/** a POSIX-shell single-quoted word */
function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const GUEST_DIR = '/kotel-guest';

function stage2Script(kernel: string, cwd: string, env: Record<string, string>): string {
  const exports = Object.entries(env)
    .map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`bad environment variable name: ${k}`);
      return `export ${k}=${shq(v)}`;
    })
    .join('\n');
  return `#!/bin/sh
# stage 2 of the kotel guest (written by test/kernels/guest.ts), PID 1 in the overlay root
G=${GUEST_DIR}
say() { echo "kotel-guest: $*" >/dev/console 2>/dev/null || echo "kotel-guest: $*"; }
finish() {
  sync
  echo o >/proc/sysrq-trigger
  # wait for the power-off with builtins only: once the 9p devices shut down, exec fails (EIO); a read on
  # a FIFO nobody writes blocks without spinning
  while :; do read -r _ <&9; done
}
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
[ -e /dev/stdin ] || ln -s /proc/self/fd/0 /dev/stdin
[ -e /dev/stdout ] || ln -s /proc/self/fd/1 /dev/stdout
[ -e /dev/stderr ] || ln -s /proc/self/fd/2 /dev/stderr
mount -t tmpfs -o mode=755 tmpfs /run
mkfifo /run/kotel-idle && exec 9<>/run/kotel-idle
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# subtree control for the cgroup tests: enable every controller the kernel offers at the root
for c in $(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null); do echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null; done
hostname kotel-guest 2>/dev/null
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up 2>/dev/null
export PATH=${shq(process.env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')}:/usr/sbin:/sbin
export HOME=/root TERM=dumb LANG=C.UTF-8
mkdir -p $G/out
export KOTEL_GUEST_OUT=$G/out KOTEL_GUEST_KERNEL=${shq(kernel)}
${exports}
cut -d' ' -f1 /proc/uptime >$G/start
cd ${shq(cwd)} || { say "cannot cd to ${cwd.replace(/[^A-Za-z0-9_./+-]/g, '?')}"; echo 127 >$G/rc; finish; }
say "running the command"
bash $G/command.sh </dev/null >$G/output 2>&1 9<&-
echo $? >$G/rc
cut -d' ' -f1 /proc/uptime >$G/end
say "command exited $(cat $G/rc)"
finish
`;
}

function readOr(file: string, dflt = ''): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return dflt;
  }
}

function num(s: string): number | undefined {
  const n = parseFloat(s.trim());
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Boot KERNEL under qemu, run COMMAND with bash in the host's current directory (same path in the guest,
 * through the shared root), return its output and exit code, then power the guest off.
 */
export async function runInGuest(kernel: string, command: string, opts: GuestOptions = {}): Promise<GuestResult> {
  const files = await ensureKernel(kernel);
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kotel-guest-${kernel}-`));
  fs.chmodSync(dir, 0o755);
  fs.writeFileSync(path.join(dir, 'command.sh'), command + '\n');
  fs.writeFileSync(path.join(dir, 'stage2.sh'), stage2Script(kernel, opts.cwd ?? process.cwd(), opts.env ?? {}), { mode: 0o755 });

  const append = [
    'console=ttyS0',
    'panic=-1', // a panic reboots at once, and -no-reboot turns that into qemu's exit
    `kotel.modules=${files.modules}`,
    `kotel.stage2=${GUEST_DIR}/stage2.sh`,
  ].join(' ');
  const args = [
    '-accel',
    'tcg,thread=single',
    '-cpu',
    'max',
    '-smp',
    String(opts.smp ?? 2),
    '-m',
    opts.memory ?? '4G',
    '-nic',
    'none',
    '-nographic',
    '-no-reboot',
    '-kernel',
    files.vmlinuz,
    '-initrd',
    files.initramfs,
    '-append',
    append,
    '-fsdev',
    'local,id=kotelroot,path=/,security_model=none,readonly=on,multidevs=remap',
    '-device',
    'virtio-9p-pci,fsdev=kotelroot,mount_tag=kotelroot',
    '-fsdev',
    `local,id=kotelresults,path=${dir},security_model=none,multidevs=remap`,
    '-device',
    'virtio-9p-pci,fsdev=kotelresults,mount_tag=kotelresults',
  ];

  const started = process.hrtime.bigint();
  const consoleChunks: string[] = [];
  const consoleFile = fs.openSync(path.join(dir, 'console.log'), 'w');
  let timedOut = false;

  const qemuExit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    const qemu = spawn(tool('qemu-system-x86_64'), args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const onData = (b: Buffer) => {
      const s = b.toString('utf8');
      consoleChunks.push(s);
      fs.writeSync(consoleFile, b);
      opts.onConsole?.(s);
    };
    qemu.stdout.on('data', onData);
    qemu.stderr.on('data', onData);
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      qemu.kill('SIGTERM');
      killTimer = setTimeout(() => qemu.kill('SIGKILL'), 5000);
    }, timeoutMs);
    qemu.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      reject(err);
    });
    qemu.on('close', (code, signal) => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      resolve({ code, signal });
    });
  }).finally(() => fs.closeSync(consoleFile));

  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rc = readOr(path.join(dir, 'rc')).trim();
  const result: GuestResult = {
    code: /^\d+$/.test(rc) ? Number(rc) : null,
    output: readOr(path.join(dir, 'output')),
    console: consoleChunks.join('').replace(/\r\n/g, '\n'),
    timedOut,
    seconds: Math.round(seconds * 10) / 10,
    guestStart: num(readOr(path.join(dir, 'start'))),
    guestEnd: num(readOr(path.join(dir, 'end'))),
    qemuExit,
  };
  if (opts.outDir && fs.existsSync(path.join(dir, 'out'))) {
    fs.mkdirSync(opts.outDir, { recursive: true });
    fs.cpSync(path.join(dir, 'out'), opts.outDir, { recursive: true });
  }
  if (opts.keepDir) result.dir = dir;
  else fs.rmSync(dir, { recursive: true, force: true });
  return result;
}

/** how a guest run ended, in a few words */
export function verdict(r: GuestResult): string {
  if (r.timedOut) return r.code === null ? 'TIMEOUT' : `TIMEOUT (exit ${r.code})`;
  if (r.code === null) return 'NO EXIT CODE (guest died: see console)';
  return `exit ${r.code}`;
}

/** the last `lines` lines of text, trailing blanks dropped */
export function tail(text: string, lines: number): string {
  return text.replace(/\s+$/, '').split('\n').slice(-lines).join('\n');
}
