// CPU family: CFS bandwidth throttling per cgroup, aggregated in the kernel (bpf/cpu.bpf.c, ABI in bpf/cpu.h)
// and read at collection time.
import { CPU } from './semconv';
import type { FamilyFolder, Family } from '../types';
import { cpuConfig } from './config';

/** classic buckets: 64 us to 16 s, finer from 1 ms to 1 s (a throttle lasts up to the rest of a period:
 * 100 ms by default) */
const THROTTLE_CLASSIC = { from: 64e-6, to: 16, fine: [1e-3, 1] as [number, number] };

export const cpuFamily: Family = {
  name: 'cpu',
  enabled: (config) => config.families.cpu.enabled,
  openOptions: (config) => {
    const cpu = config.families.cpu;
    return {
      rodata: {},
      maxEntries: {
        cpu_throttle_hist: cpu.maxCgroupKeys,
        cpu_throttled_periods: cpu.maxCgroupKeys,
        cpu_periods_seen: cpu.maxCgroupKeys,
      },
      // the unthrottle's exit before its entry: an entry always finds the program that ends it attached
      ladders: {
        unthrottle_cfs_rq: [{ program: 'unthrottle_cfs_rq_exit', kind: 'fexit' as const, target: 'unthrottle_cfs_rq' }],
        'unthrottle_cfs_rq:entry': [{ program: 'unthrottle_cfs_rq_entry', kind: 'fentry' as const, target: 'unthrottle_cfs_rq' }],
        throttle_cfs_rq: [{ program: 'throttle_cfs_rq_exit', kind: 'fexit' as const, target: 'throttle_cfs_rq' }],
      },
    };
  },
  maps: {},
  dropsMap: 'cpu_drops',
  kernelMetrics: [
    { type: 'histogram', map: 'cpu_throttle_hist', metric: CPU.throttleDuration, classic: THROTTLE_CLASSIC },
    { type: 'counter', map: 'cpu_throttled_periods', metric: CPU.throttledPeriods },
  ],
};

/** the cpu folder for the registry */
export const folder = { config: cpuConfig, families: [cpuFamily] } satisfies FamilyFolder;
