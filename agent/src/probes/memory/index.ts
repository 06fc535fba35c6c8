// Memory family: page faults per cgroup, by CPU mode and access, and by type with faultTypes; reclaim
// stalls, compaction passes and OOM kills; counted in the kernel (bpf/memory.bpf.c, ABI in bpf/memory.h) and read at
// collection time.
import { MEMORY } from './semconv';
import { rawTracepointLadder, tracepointLadder } from '../ladder';
import type { FamilyFolder, Family } from '../types';
import { compactionAttributes, faultAttributes, faultTypeAttributes, reclaimAttributes } from './kinds';
import { memoryConfig } from './config';

/** classic buckets: 1 us to 64 s, finer from 10 us to 1 s (a reclaim or compaction pass over a small cgroup
 * or zone takes tens of us, one that writes back, swaps or migrates much ms to s) */
const RECLAIM_CLASSIC = { from: 1e-6, to: 64, fine: [1e-5, 1] as [number, number] };

export const memoryFamily: Family = {
  name: 'memory',
  enabled: (config) => config.families.memory.enabled,
  openOptions: (config) => {
    const memory = config.families.memory;
    return {
      rodata: {},
      maxEntries: {
        mem_faults: memory.maxCgroupKeys,
        mem_fault_types: memory.maxCgroupKeys,
        mem_reclaim_hist: memory.maxCgroupKeys,
        mem_reclaim_pages: memory.maxCgroupKeys,
        mem_oom_kills: memory.maxCgroupKeys,
        mem_compaction_hist: memory.maxCgroupKeys,
      },
      // each reclaim's end before its begin: a tracked reclaim always finds the program that ends it attached
      ladders: {
        page_fault_user: tracepointLadder('page_fault_user'),
        page_fault_kernel: tracepointLadder('page_fault_kernel'),
        mm_vmscan_direct_reclaim_end: tracepointLadder('mm_vmscan_direct_reclaim_end'),
        mm_vmscan_direct_reclaim_begin: tracepointLadder('mm_vmscan_direct_reclaim_begin'),
        mm_vmscan_memcg_reclaim_end: tracepointLadder('mm_vmscan_memcg_reclaim_end'),
        mm_vmscan_memcg_reclaim_begin: tracepointLadder('mm_vmscan_memcg_reclaim_begin'),
        // the compaction's control block tells direct compaction from the rest; a classic record has no pointer to it
        mm_compaction_end: rawTracepointLadder('mm_compaction_end'),
        mm_compaction_begin: rawTracepointLadder('mm_compaction_begin'),
        // the classic record has the victim's pid only, which names no cgroup
        mark_victim: rawTracepointLadder('mark_victim'),
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
    {
      type: 'histogram',
      map: 'mem_reclaim_hist',
      metric: MEMORY.reclaimDuration,
      classic: RECLAIM_CLASSIC,
      kindAttributes: reclaimAttributes,
    },
    { type: 'counter', map: 'mem_reclaim_pages', metric: MEMORY.reclaimPages, kindAttributes: reclaimAttributes },
    {
      type: 'histogram',
      map: 'mem_compaction_hist',
      metric: MEMORY.compactionDuration,
      classic: RECLAIM_CLASSIC,
      kindAttributes: compactionAttributes,
    },
    { type: 'counter', map: 'mem_oom_kills', metric: MEMORY.oomKills },
  ],
};

/** the memory folder for the registry */
export const folder = { config: memoryConfig, families: [memoryFamily] } satisfies FamilyFolder;
