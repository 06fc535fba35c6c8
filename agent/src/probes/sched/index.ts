// Scheduler family: run-queue delay, context switches, migrations and optional off-CPU time, aggregated in
// the kernel by the task's cgroup (bpf/sched.bpf.c, ABI in bpf/sched.h) and read at collection time; no
// per-event work in user space.
import { ATTR } from '../../otel/semconv';
import { SCHED, SCHED_ATTR } from './semconv';
import { tracepointLadder } from '../ladder';
import type { FamilyFolder, Family } from '../types';
import { checkTaskStateRungs } from './rungs';
import { schedConfig } from './config';

// run-queue delay: 2^8 ns (256 ns) .. 2^34 ns (~17 s); off-CPU: 2^10 ns (1 µs) .. 2^40 ns (~18 min)
/** classic buckets: 250 ns to 16 s, finer from 1 us to 10 ms (a scheduler slice is a few ms) */
const RUNQ_CLASSIC = { from: 2.5e-7, to: 16, fine: [1e-6, 0.01] as [number, number] };
/** 1 us to 1024 s, finer from 10 us to 1 s */
const OFFCPU_CLASSIC = { from: 1e-6, to: 1024, fine: [1e-5, 1] as [number, number] };

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
      classic: RUNQ_CLASSIC,
      kindAttributes: (kind) => (kind === 0 ? {} : { [ATTR.cpuId]: kind - 1 }),
    },
    { type: 'histogram', map: 'sched_offcpu_hist', metric: SCHED.offCpuDuration, classic: OFFCPU_CLASSIC },
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

/** the sched folder for the registry */
export const folder = { config: schedConfig, families: [schedFamily] } satisfies FamilyFolder;
