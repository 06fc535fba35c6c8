// Memory family: page faults per cgroup, by CPU mode and access, counted in the kernel (bpf/memory.bpf.c,
// ABI in bpf/memory.h) and read at collection time.
import { MEMORY } from './semconv';
import { tracepointLadder } from '../ladder';
import type { FamilyFolder, Family } from '../types';
import { faultAttributes } from './faultKinds';
import { memoryConfig } from './config';

export const memoryFamily: Family = {
  name: 'memory',
  enabled: (config) => config.families.memory.enabled,
  openOptions: (config) => ({
    rodata: {},
    maxEntries: { mem_faults: config.families.memory.maxCgroupKeys },
    ladders: {
      page_fault_user: tracepointLadder('page_fault_user'),
      page_fault_kernel: tracepointLadder('page_fault_kernel'),
    },
  }),
  maps: {},
  dropsMap: 'mem_drops',
  kernelMetrics: [{ type: 'counter', map: 'mem_faults', metric: MEMORY.pageFaults, kindAttributes: faultAttributes }],
};

/** the memory folder for the registry */
export const folder = { config: memoryConfig, families: [memoryFamily] } satisfies FamilyFolder;
