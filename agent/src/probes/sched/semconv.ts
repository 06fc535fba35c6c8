// What the sched family exports: metric names, units and descriptions, and its attribute keys (shared ones: otel/semconv.ts).
import type { MetricName } from '../../otel/semconv';

export const SCHED_ATTR = {
  contextSwitchType: 'context_switch.type',
} as const;

export const SCHED = {
  runqueueDelay: {
    name: 'sched.runqueue.delay',
    unit: 's',
    description:
      'Run-queue delay: time a task waited runnable for a CPU, from its wakeup (or preemption) to running, by its cgroup (and cpu.id with families.sched.perCpu)',
  },
  offCpuDuration: {
    name: 'sched.offcpu.duration',
    unit: 's',
    description: 'Off-CPU time: from a task blocking (voluntary context switch) to running again, by its cgroup (families.sched.offCpu)',
  },
  contextSwitches: {
    name: 'sched.context_switches',
    unit: '{context_switch}',
    description:
      'Context switches by the cgroup of the task leaving the CPU: voluntary (it blocked) or involuntary (preempted or yielded, still runnable)',
  },
  migrations: {
    name: 'sched.migrations',
    unit: '{migration}',
    description: 'Task migrations between CPUs (sched_migrate_task), by the cgroup of the task',
  },
} satisfies Record<string, MetricName>;
