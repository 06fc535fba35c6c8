// Processes: run a command, read a process's CPU time and RSS from /proc.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { tool } from '../../test/helpers/tools';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** user + system CPU seconds of a process (all its threads), from /proc/<pid>/stat */
export function cpuSeconds(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.system;
}

/** a process's CPU seconds in user space and in the kernel */
export function cpuTimes(pid: number): { user: number; system: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / CLK_TCK, system: Number(fields[12]) / CLK_TCK }; // utime, stime (fields 14, 15)
}

/** resident set size in MB, from /proc/<pid>/status */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** CPU of a process over a window: fraction of one core */
export async function cpuOver(pid: number, ms: number): Promise<{ cores: number; seconds: number }> {
  const c0 = cpuSeconds(pid);
  const t0 = process.hrtime.bigint();
  await sleep(ms);
  const seconds = cpuSeconds(pid) - c0;
  return { cores: seconds / (Number(process.hrtime.bigint() - t0) / 1e9), seconds };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** a bare command name must be on PATH, else one line names its Debian package; paths are run as they are */
function commandPath(cmd: string): string {
  return cmd.includes('/') ? cmd : tool(cmd, 'bench');
}

export function sh(cmd: string): string {
  return execFileSync('bash', ['-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** runs a command to completion; rejects with its stderr on a non-zero exit */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(commandPath(cmd), args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.trim().slice(-500)}`)),
    );
  });
}

/** a long-running child whose stdout lines can be awaited */
export interface LineChild {
  child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function spawnLines(cmd: string, args: string[], opts: { stdin?: boolean } = {}): LineChild {
  const child = spawn(commandPath(cmd), args, { stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    async waitFor(pattern, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = pattern.exec(out);
        if (m) return m;
        if (child.exitCode !== null) throw new Error(`${cmd} exited ${child.exitCode}: ${out.trim().slice(-800)}`);
        if (Date.now() > deadline) throw new Error(`${cmd} did not print ${pattern} within ${timeoutMs} ms: ${out.trim().slice(-800)}`);
        await sleep(50);
      }
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
