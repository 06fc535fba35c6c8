// families.blockio.* in the config schema (the registry gathers the families' fragments for agent/src/config/schema.ts).
import { fragment } from '../../config/spec';

export const blockioConfig = fragment({
  enabled: {
    doc: 'Attach the block I/O probes: request latency, queue time and bytes by disk, operation and cgroup (block_rq_* tracepoints).',
    format: 'bool',
    default: true,
  },
  maxCgroupKeys: {
    doc: 'Distinct (cgroup, disk, operation) keys the block I/O metrics are kept for (size of the per-cgroup maps).',
    format: 'int',
    min: 1,
    default: 10240,
  },
  maxInflight: {
    doc: 'Block requests tracked in flight at once, over every disk (LRU hash: past it the oldest are forgotten and their latency lost).',
    format: 'int',
    min: 64,
    default: 16384,
  },
});
