// What the locks family exports: metric names, units and descriptions, and its attribute keys (shared ones: otel/semconv.ts).
import type { MetricName } from '../../otel/semconv';

export const LOCKS_ATTR = {
  kind: 'lock.kind',
  symbol: 'lock.symbol',
  address: 'lock.address',
  futexOp: 'futex.op',
} as const;

export const LOCKS = {
  contentionDuration: {
    name: 'lock.contention.duration',
    unit: 's',
    description:
      'Kernel lock contention: wait from the first contention_begin to contention_end of a task, by lock kind (the count is the number of contentions)',
  },
  futexWaitDuration: {
    name: 'futex.wait.duration',
    unit: 's',
    description:
      'User-space lock waits: time in futex syscalls that can wait (FUTEX_WAIT, _BITSET, _REQUEUE_PI, LOCK_PI, LOCK_PI2, futex_waitv, futex_wait), by op; error.type when the wait failed (EAGAIN, ETIMEDOUT, EINTR)',
  },
  topWait: {
    name: 'lock.contention.top.wait',
    unit: 's',
    description:
      'Total contention wait on each of the most contended kernel locks (the families.locks.topLocks with the most wait since the address was first tracked), by symbol',
  },
  topCount: {
    name: 'lock.contention.top.contentions',
    unit: '{contention}',
    description: 'Contentions on each of the most contended kernel locks (the same locks as lock.contention.top.wait)',
  },
  span: 'lock.wait',
} satisfies Record<string, MetricName | string>;
