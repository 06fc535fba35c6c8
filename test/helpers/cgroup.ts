// Test cgroups in the cgroup2 hierarchy, and processes started inside them. The cgroup id the BPF
// programs see is the inode number of the directory (checked independently here with stat).
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findCgroup2Mount } from '../../agent/src/host/cgroups';

export interface TestCgroup {
  /** path relative to the cgroup2 root, as exported in cgroup.path */
  path: string;
  /** inode number of the directory: the cgroup id */
  id: number;
  /** the argv that runs cmd in it: a shell moves itself into the cgroup, then becomes the command */
  command(cmd: string, args: string[]): string[];
  spawn(cmd: string, args: string[], options?: SpawnOptions): ChildProcess;
  /** SIGKILLs every process left in it (cgroup.kill, 5.14+) and waits up to 5 s for them to go */
  killAll(): Promise<void>;
  remove(): void;
}

/** /kotel-test-<name>-<pid>, or a cgroup `nested` below it (its parents made too, and removed with it) */
export function createCgroup(name: string, nested = ''): TestCgroup {
  const mount = findCgroup2Mount();
  if (!mount) throw new Error('no cgroup2 hierarchy mounted');
  const base = `/kotel-test-${name}-${process.pid}`;
  const rel = nested ? path.posix.join(base, nested) : base;
  const dir = path.join(mount, rel);
  fs.mkdirSync(dir, { recursive: true });
  const command = (cmd: string, args: string[]) => ['sh', '-c', `echo $$ > ${dir}/cgroup.procs && exec "$@"`, 'sh', cmd, ...args];
  return {
    path: rel,
    id: fs.statSync(dir).ino,
    command,
    spawn(cmd, args, options = {}) {
      const [sh, ...argv] = command(cmd, args);
      return spawn(sh, argv, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    },
    async killAll() {
      try {
        fs.writeFileSync(path.join(dir, 'cgroup.kill'), '1');
      } catch {
        return; // gone, or a kernel without cgroup.kill
      }
      for (let end = Date.now() + 5000; Date.now() < end; await new Promise((r) => setTimeout(r, 50)))
        if (fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').trim() === '') return;
    },
    remove() {
      // the leaf, then each parent up to the base (a parent shared with another test cgroup stays)
      for (let d = rel; d.startsWith(base); d = path.posix.dirname(d)) {
        try {
          fs.rmdirSync(path.join(mount, d));
        } catch {
          /* still has processes or children: left for the OS; named after our pid */
          return;
        }
      }
    },
  };
}

/** the controllers the cgroup2 hierarchy has (its root's cgroup.controllers); none without one */
export function cgroup2Controllers(): string[] {
  const mount = findCgroup2Mount();
  return mount ? fs.readFileSync(path.join(mount, 'cgroup.controllers'), 'utf8').split(/\s+/).filter(Boolean) : [];
}

/** turns a cgroup2 controller on for cg: each cgroup from the root down to cg's parent hands it on */
export function enableController(cg: TestCgroup, controller: string): void {
  const mount = findCgroup2Mount()!;
  const parts = cg.path.split('/').filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const control = path.join(mount, ...parts.slice(0, i), 'cgroup.subtree_control');
    if (!fs.readFileSync(control, 'utf8').split(/\s+/).includes(controller)) fs.writeFileSync(control, `+${controller}`);
  }
}

/** gives cg the cpu controller and a bandwidth limit: cpu.max, "QUOTA_US PERIOD_US" */
export function limitCpu(cg: TestCgroup, cpuMax: string): void {
  enableController(cg, 'cpu');
  fs.writeFileSync(path.join(findCgroup2Mount()!, cg.path, 'cpu.max'), cpuMax);
}

/** a flat keyed file, one "key value" a line (memory.stat, memory.events, cpu.stat, /proc/vmstat) */
export function readKeyed(file: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const [k, v] = line.split(' ');
    if (k && v !== undefined) m.set(k, Number(v));
  }
  return m;
}

/** runs a command in a cgroup to completion; resolves with stdout, rejects on non-zero exit */
export function runIn(cg: TestCgroup, cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = cg.spawn(cmd, args);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`))));
  });
}
