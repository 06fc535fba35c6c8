// Scheduler family: run-queue delay, context switches, migrations and optional off-CPU time, aggregated in
// the kernel by the task's cgroup (bpf/sched.bpf.c, ABI in bpf/sched.h) and read at collection time; no
// per-event work in user space.
import { SCHED, SCHED_ATTR } from './semconv';
import { tracepointLadder } from '../ladder';
import type { Family } from '../types';
import { checkTaskStateRungs } from './rungs';

// run-queue delay: 2^8 ns (256 ns) .. 2^34 ns (~17 s); off-CPU: 2^10 ns (1 µs) .. 2^40 ns (~18 min)
const RUNQ_SLOTS = { minSlot: 8, maxSlot: 34 };
const OFFCPU_SLOTS = { minSlot: 10, maxSlot: 40 };

const SWITCH_KINDS = ['voluntary', 'involuntary'];

export const schedFamily: Family = {
  name: 'sched',
  enabled: (config) => config.families.sched.enabled,
  openOptions: (config) => {
    const sched = config.families.sched;
    return {
      rodata: { targ_offcpu: sched.offCpu, targ_per_cpu: sched.perCpu },
      maxEntries: {
        sched_runq_hist: sched.maxCgroupKeys,
        sched_offcpu_hist: sched.maxCgroupKeys,
        sched_switches: sched.maxCgroupKeys,
        sched_migrations: sched.maxCgroupKeys,
        sched_task_by_pid: sched.maxTasks,
      },
      ladders: {
        sched_wakeup: tracepointLadder('sched_wakeup'),
        sched_wakeup_new: tracepointLadder('sched_wakeup_new'),
        sched_switch: tracepointLadder('sched_switch'),
        sched_migrate_task: tracepointLadder('sched_migrate_task'),
      },
    };
  },
  maps: {
    sched_task_by_pid: { key: 4, value: 'sched_task' },
  },
  dropsMap: 'sched_drops',
  kernelMetrics: [
    {
      type: 'histogram',
      map: 'sched_runq_hist',
      metric: SCHED.runqueueDelay,
      slots: RUNQ_SLOTS,
      kindAttributes: (kind) => (kind === 0 ? {} : { [SCHED_ATTR.cpuId]: kind - 1 }),
    },
    { type: 'histogram', map: 'sched_offcpu_hist', metric: SCHED.offCpuDuration, slots: OFFCPU_SLOTS },
    {
      type: 'counter',
      map: 'sched_switches',
      metric: SCHED.contextSwitches,
      kindAttributes: (kind) => ({ [SCHED_ATTR.contextSwitchType]: SWITCH_KINDS[kind] ?? `kind_${kind}` }),
    },
    { type: 'counter', map: 'sched_migrations', metric: SCHED.migrations },
  ],
  start(ctx) {
    const problem = checkTaskStateRungs(ctx.object.attachments);
    if (problem) ctx.logger.error(`sched: ${problem}`);
    return { close: () => {} };
  },
};
