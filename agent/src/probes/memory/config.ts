// families.memory.* in the config schema (the registry gathers the families' fragments for agent/src/config/schema.ts).
import { fragment } from '../../config/spec';

export const memoryConfig = fragment({
  enabled: {
    doc: 'Attach the memory probes: page faults per cgroup, by CPU mode and access (x86 exceptions tracepoints); reclaim stalls (vmscan tracepoints), compaction passes (compaction tracepoints) and OOM kills (oom:mark_victim).',
    format: 'bool',
    default: true,
  },
  faultTypes: {
    doc: 'Also count page faults by type, major (the page was read in) or minor, as getrusage and memory.stat count them: an fexit program on handle_mm_fault, so only on kernels with BPF trampolines (Debian 6.1 and 6.12 have them; kotel probes says why not elsewhere).',
    format: 'bool',
    default: false,
  },
  maxCgroupKeys: {
    doc: 'Distinct (cgroup, kind) keys each memory metric is kept for: (cgroup, mode, access) of the page fault counts, (cgroup, reclaim or compaction kind) of the reclaim stalls and compaction passes (size of each per-cgroup map).',
    format: 'int',
    min: 1,
    default: 10240,
  },
});
