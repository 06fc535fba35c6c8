// families.rdma.* in the config schema (the registry gathers the families' fragments for agent/src/config/schema.ts).
import { fragment } from '../../config/spec';

export const rdmaConfig = fragment({
  enabled: {
    doc: 'Attach the RDMA verbs probes (uprobes on libibverbs): live resources, verb calls, QP transitions.',
    format: 'bool',
    default: true,
  },
  library: {
    doc: 'Path of libibverbs.so.1 to hook; empty: the one ldconfig finds. Processes using another copy are found through /proc/PID/maps.',
    format: 'string',
    default: '',
  },
  libraryScanInterval: {
    doc: 'Interval between two scans of /proc/*/maps for other libibverbs files (containers) to hook; 0: never (ms).',
    format: 'ms',
    default: 10000,
  },
  spanSampling: {
    doc: 'Share of rdma.qp spans exported (0-1, by trace id); the others are counted in kotel.spans.sampled_out, so totals stay exact.',
    format: 'ratio',
    default: 1,
  },
  qpSpans: {
    doc: 'Emit one span per QP, from create to destroy, with an event per state transition and the connection tuple.',
    format: 'bool',
    default: true,
  },
  sysfsRoot: {
    doc: 'sysfs root the source GIDs are read from (<root>/class/infiniband/<dev>/ports/<port>/gids/<index>); change only for tests with a fake sysfs tree.',
    format: 'string',
    default: '/sys',
  },
  maxObjects: {
    doc: 'Live verbs objects (QPs, PDs, CQs, MRs, contexts) tracked at once in the kernel, and QPs in the span and connection table; more are counted as map_full drops.',
    format: 'int',
    min: 1,
    default: 262144,
  },
  maxCgroupKeys: {
    doc: 'Distinct (cgroup, kind) keys the RDMA counters are kept for (size of the per-cgroup maps).',
    format: 'int',
    min: 1,
    default: 10240,
  },
  ringBufferBytes: {
    doc: 'Size of each RDMA QP-event ring buffer (spans, connection table): a power of two, at least 4096. The agent drains it into a backlog of up to 32 MiB while it builds the spans; records of a burst beyond both are counted as ringbuf_full drops.',
    format: 'int',
    min: 4096,
    default: 4194304,
  },
  kernel: {
    doc: 'Also hook the kernel verbs layer (families rdma_kernel: ib_core restrack and _ib_modify_qp; rdma_cm: the rdma_cma tracepoints) where those modules are loaded; reported as unavailable, with the reason, elsewhere, and loaded when the modules appear.',
    format: 'bool',
    default: true,
  },
  seedFromNetlink: {
    doc: 'Kernel path: count the RDMA objects that exist when kotel starts, from RDMA netlink (`rdma -j resource show`, iproute2).',
    format: 'bool',
    default: true,
  },
});
