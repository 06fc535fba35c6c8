// The bench workloads (bench/workloads/*.c) and how they run: the ping-pong and TCP request/response are
// pinned to CPU 0 (kernel-facts: unpinned, their throughput swings 0.57-1.24 run to run), the contention
// workloads use every CPU (threads must run at once to contend).
import { cgroup2Controllers, createCgroup, limitCpu } from '../../test/helpers/cgroup';
import { workloadPath, type WorkloadName } from './build';
import { run } from './proc';

export interface WorkloadSpec {
  name: WorkloadName;
  title: string;
  unit: string;
  /** taskset CPU list, or undefined: not pinned */
  cpus?: string;
  args: string[];
  /** families whose events this workload drives */
  families: string[];
  /** run in a cgroup with this cpu.max (cgroup2 with the cpu controller; else unlimited) */
  cpuMax?: string;
}

export const WORKLOAD_SPECS: WorkloadSpec[] = [
  {
    name: 'pingpong',
    title: 'pipe ping-pong (2 processes, CPU 0)',
    unit: 'round trips/s',
    cpus: '0',
    args: [],
    families: ['sched', 'locks'],
  },
  {
    name: 'tcp_rr',
    title: 'loopback TCP request/response, 64 B (CPU 0)',
    unit: 'round trips/s',
    cpus: '0',
    args: ['0'],
    families: ['tcp'],
  },
  {
    name: 'uds_rr',
    title: 'Unix stream socket request/response, 64 B (CPU 0)',
    unit: 'round trips/s',
    cpus: '0',
    args: [],
    families: ['unix'],
  },
  { name: 'mutex', title: '4 threads on one pthread mutex', unit: 'acquisitions/s', args: ['4'], families: ['locks'] },
  { name: 'mmap', title: '4 threads mmap/munmap 64 KiB', unit: 'cycles/s', args: ['4'], families: ['locks', 'memory'] },
  {
    name: 'direct_io',
    title: '2 threads writing 4 KiB with O_DIRECT',
    unit: 'writes/s',
    args: ['2'],
    families: ['blockio', 'interrupts'],
  },
  {
    name: 'spin',
    title: '2 threads computing under cpu.max "1000 2000" (throttled every 2 ms period)',
    unit: 'iterations/s',
    args: ['2'],
    families: ['cpu'],
    cpuMax: '1000 2000',
  },
];

/** runs a workload for `seconds`; returns its operations per second */
export async function runWorkload(spec: WorkloadSpec, seconds: number, args = spec.args): Promise<number> {
  let argv = [workloadPath(spec.name), String(seconds), ...args];
  if (spec.cpus) argv = ['taskset', '-c', spec.cpus, ...argv];
  const cg = spec.cpuMax && cgroup2Controllers().includes('cpu') ? createCgroup(`bench-${spec.name}`) : undefined;
  try {
    if (cg) {
      limitCpu(cg, spec.cpuMax!);
      argv = cg.command(argv[0], argv.slice(1));
    }
    const out = await run(argv[0], argv.slice(1));
    return JSON.parse(out.trim().split('\n').at(-1)!).perSecond as number;
  } finally {
    cg?.remove();
  }
}
