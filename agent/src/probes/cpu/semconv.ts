// What the CPU family exports: metric names, units and descriptions (cgroup attributes: otel/semconv.ts).
import type { MetricName } from '../../otel/semconv';

export const CPU = {
  throttleDuration: {
    name: 'cpu.throttle.duration',
    unit: 's',
    description:
      "CFS bandwidth throttling: each time one CPU's run queue of the cgroup was throttled because its cpu.max quota ran out, until the next period's quota released it (throttle_cfs_rq -> unthrottle_cfs_rq, on the run queue's clock); the sum is cpu.stat's throttled_usec, by the cgroup with the quota",
  },
  throttledPeriods: {
    name: 'cpu.throttled.periods',
    unit: '{period}',
    description:
      "Bandwidth periods (cpu.max's period) in which the cgroup was throttled: cpu.stat's nr_throttled, by the cgroup with the quota",
  },
} satisfies Record<string, MetricName>;
