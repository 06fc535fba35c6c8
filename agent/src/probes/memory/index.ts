// Memory family: page faults per cgroup, by CPU mode and access, and by type with faultTypes, counted in
// the kernel (bpf/memory.bpf.c, ABI in bpf/memory.h) and read at collection time.
import { MEMORY } from './semconv';
import { tracepointLadder } from '../ladder';
import type { FamilyFolder, Family } from '../types';
import { faultAttributes, faultTypeAttributes } from './faultKinds';
import { memoryConfig } from './config';

export const memoryFamily: Family = {
  name: 'memory',
  enabled: (config) => config.families.memory.enabled,
  openOptions: (config) => {
    const memory = config.families.memory;
    return {
      rodata: {},
      maxEntries: { mem_faults: memory.maxCgroupKeys, mem_fault_types: memory.maxCgroupKeys },
      ladders: {
        page_fault_user: tracepointLadder('page_fault_user'),
        page_fault_kernel: tracepointLadder('page_fault_kernel'),
        ...(memory.faultTypes
          ? { handle_mm_fault: [{ program: 'handle_mm_fault_exit', kind: 'fexit' as const, target: 'handle_mm_fault' }] }
          : {}),
      },
    };
  },
  maps: {},
  dropsMap: 'mem_drops',
  kernelMetrics: [
    { type: 'counter', map: 'mem_faults', metric: MEMORY.pageFaults, kindAttributes: faultAttributes },
    { type: 'counter', map: 'mem_fault_types', metric: MEMORY.pagingFaults, kindAttributes: faultTypeAttributes },
  ],
};

/** the memory folder for the registry */
export const folder = { config: memoryConfig, families: [memoryFamily] } satisfies FamilyFolder;
