// Block I/O family: request latency, queue time and bytes by disk, operation and cgroup, aggregated in the
// kernel (bpf/blockio.bpf.c, ABI in bpf/blockio.h) and read at collection time.
import { BLOCKIO } from './semconv';
import { rawTracepointLadder } from '../ladder';
import type { FamilyFolder, Family } from '../types';
import { blockAttributesOf } from './devices';
import { blockioConfig } from './config';

/** classic buckets: 1 us to 64 s, finer from 10 us to 100 ms (NVMe tens of us, disks ms) */
const REQUEST_CLASSIC = { from: 1e-6, to: 64, fine: [1e-5, 0.1] as [number, number] };
/** one for the three metrics: each disk's name is read once */
const blockAttributes = blockAttributesOf();

export const blockioFamily: Family = {
  name: 'blockio',
  enabled: (config) => config.families.blockio.enabled,
  openOptions: (config) => {
    const blockio = config.families.blockio;
    return {
      rodata: {},
      maxEntries: {
        block_rq_hist: blockio.maxCgroupKeys,
        block_queue_hist: blockio.maxCgroupKeys,
        block_bytes: blockio.maxCgroupKeys,
        block_inflight: blockio.maxInflight,
      },
      // the completion before the issue and the issue before the insert: a tracked request always finds
      // the programs that end it attached
      ladders: {
        block_rq_complete: rawTracepointLadder('block_rq_complete'),
        block_rq_issue: rawTracepointLadder('block_rq_issue'),
        block_rq_insert: rawTracepointLadder('block_rq_insert'),
      },
    };
  },
  maps: {},
  dropsMap: 'block_drops',
  kernelMetrics: [
    {
      type: 'histogram',
      map: 'block_rq_hist',
      metric: BLOCKIO.requestDuration,
      classic: REQUEST_CLASSIC,
      kindAttributes: blockAttributes,
    },
    {
      type: 'histogram',
      map: 'block_queue_hist',
      metric: BLOCKIO.queueDuration,
      classic: REQUEST_CLASSIC,
      kindAttributes: blockAttributes,
    },
    { type: 'counter', map: 'block_bytes', metric: BLOCKIO.bytes, kindAttributes: blockAttributes },
  ],
};

/** the blockio folder for the registry */
export const folder = { config: blockioConfig, families: [blockioFamily] } satisfies FamilyFolder;
