// families.sched.* in the config schema (the registry gathers the families' fragments for agent/src/config/schema.ts).
import { fragment } from '../../config/spec';

export const schedConfig = fragment({
  enabled: { doc: 'Attach the scheduler probes (run-queue delay, context switches, migrations).', format: 'bool', default: true },
  offCpu: {
    doc: 'Also the off-CPU time distribution (sched.offcpu.duration): one more timestamp per voluntary switch and one more histogram update per switch-in.',
    format: 'bool',
    default: false,
  },
  perCpu: {
    doc: 'Split sched.runqueue.delay by cpu.id too: series and per-cgroup map entries multiply by the CPUs in use (a histogram series takes 136 B per possible CPU for each octave its values span at metrics.histogramScale 4), so raise maxCgroupKeys to cgroups x CPUs.',
    format: 'bool',
    default: false,
  },
  maxCgroupKeys: {
    doc: 'Distinct (cgroup, kind) keys the scheduler metrics are kept for (size of the per-cgroup maps).',
    format: 'int',
    min: 1,
    default: 10240,
  },
  maxTasks: {
    doc: 'Threads whose wakeup time is tracked at once when the kernel lacks tp_btf (pid-keyed LRU hash; with tp_btf, task storage is used and this is unused).',
    format: 'int',
    min: 64,
    default: 65536,
  },
});
