// A memory limit on a test cgroup, and the kernel's own counts of what the limit did, from cgroup2's memory
// controller when the cgroup2 hierarchy has it (memory.max; memory.events, memory.stat), else from a
// cgroup v1 memory hierarchy (memory.limit_in_bytes in a v1 cgroup of the same name; memory.oom_control).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findCgroup2Mount } from '../../agent/src/host/cgroups';
import { cgroup2Controllers, enableController, readKeyed, type TestCgroup } from './cgroup';
import { tool } from './tools';

/** the kernel's counts for the limited cgroup; undefined where its hierarchy does not count it */
export interface LimitCounts {
  /** memory.events oom_kill (v2), memory.oom_control oom_kill (v1): tasks of the cgroup the OOM killer chose */
  oomKills: number;
  /** memory.events max (v2): the times a charge found the cgroup at its limit and reclaimed */
  maxEvents?: number;
  /** memory.stat pgsteal_direct (v2): pages reclaimed from the cgroup outside kswapd */
  pgstealDirect?: number;
}

export interface MemoryLimit {
  version: 1 | 2;
  /** a command line that runs `cmd args` in the cgroup and under the limit (v1: also in the v1 cgroup) */
  command(cmd: string, args: string[]): [string, string[]];
  counts(): LimitCounts;
  remove(): void;
}

/** the mount point of the cgroup v1 hierarchy with the memory controller */
function memoryV1Mount(): string | undefined {
  for (const line of fs.readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const [, dir, type, options] = line.split(' ');
    if (type === 'cgroup' && options?.split(',').includes('memory')) return dir;
  }
  return undefined;
}

/** limits cg to `bytes`; throws when neither hierarchy has the memory controller */
export function limitMemory(cg: TestCgroup, bytes: number): MemoryLimit {
  if (cgroup2Controllers().includes('memory')) {
    enableController(cg, 'memory');
    const dir = path.join(findCgroup2Mount()!, cg.path);
    fs.writeFileSync(path.join(dir, 'memory.max'), String(bytes));
    fs.writeFileSync(path.join(dir, 'memory.swap.max'), '0');
    return {
      version: 2,
      command: (cmd, args) => [cmd, args],
      counts() {
        const events = readKeyed(path.join(dir, 'memory.events'));
        const stat = readKeyed(path.join(dir, 'memory.stat'));
        return { oomKills: events.get('oom_kill') ?? 0, maxEvents: events.get('max'), pgstealDirect: stat.get('pgsteal_direct') };
      },
      remove: () => undefined,
    };
  }
  const v1 = memoryV1Mount();
  if (!v1) throw new Error('no memory controller: neither cgroup2 nor a cgroup v1 hierarchy has it');
  const dir = path.join(v1, cg.path);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'memory.limit_in_bytes'), String(bytes));
  return {
    version: 1,
    command: (cmd, args) => ['sh', ['-c', `echo $$ > ${dir}/cgroup.procs && exec "$@"`, 'sh', cmd, ...args]],
    counts: () => ({ oomKills: readKeyed(path.join(dir, 'memory.oom_control')).get('oom_kill') ?? 0 }),
    remove() {
      try {
        fs.rmdirSync(dir);
      } catch {
        /* a process left in it: named after our pid, left for the OS */
      }
    },
  };
}

/** what a workload can read through the page cache for its cgroup to reclaim: `path`, or why there is none */
export interface PageCacheSource {
  path?: string;
  none?: string;
  remove(): void;
}

/** tmpfs, ramfs, 9p, overlay (statfs f_type): pages no reclaim frees without swap */
const UNRECLAIMABLE = [0x01021994, 0x858458f6, 0x01021997, 0x794c7630];

/** a null_blk disk where the kernel has the module (the guests, whose root is 9p under tmpfs), else a file
 * of `mib` MiB on this machine's disk, written past the page cache (no cgroup holds its pages) */
export function pageCacheSource(mib: number): PageCacheSource {
  try {
    execFileSync(tool('modprobe'), ['null_blk', 'nr_devices=1'], { stdio: 'pipe' });
    return { path: '/dev/nullb0', remove: () => execFileSync(tool('modprobe'), ['-r', 'null_blk'], { stdio: 'pipe' }) };
  } catch {
    // no modules here
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-reclaim-'));
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  if (UNRECLAIMABLE.includes(fs.statfsSync(dir).type)) return { none: `no null_blk and ${os.tmpdir()} is not on a disk`, remove };
  const file = path.join(dir, 'data');
  execFileSync(tool('dd'), ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${mib}`, 'oflag=direct', 'status=none']);
  return { path: file, remove };
}
