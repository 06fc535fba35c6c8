// families.cpu.* in the config schema (the registry gathers the families' fragments for agent/src/config/schema.ts).
import { fragment } from '../../config/spec';

export const cpuConfig = fragment({
  enabled: {
    doc: 'Attach the CPU quota probes: CFS bandwidth throttling per cgroup (cpu.max), fexit/fentry programs on throttle_cfs_rq and unthrottle_cfs_rq, so only on kernels with BPF trampolines (Debian 6.1 and 6.12 have them; kotel probes says why not elsewhere).',
    format: 'bool',
    default: true,
  },
  maxCgroupKeys: {
    doc: 'Distinct cgroups the throttling metrics are kept for (size of each per-cgroup map, and of the map of periods counted).',
    format: 'int',
    min: 1,
    default: 10240,
  },
});
