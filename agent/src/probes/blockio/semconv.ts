// What the blockio family exports: metric names, units and descriptions, and its attribute keys (shared ones: otel/semconv.ts).
import type { MetricName } from '../../otel/semconv';

export const BLOCKIO_ATTR = {
  device: 'block.device',
  operation: 'block.operation',
} as const;

export const BLOCKIO = {
  requestDuration: {
    name: 'block.request.duration',
    unit: 's',
    description:
      'Block request latency: issue to the driver (block_rq_issue) -> completion (block_rq_complete), by disk (block.device), block.operation (read, write, flush, discard, other) and the cgroup that issued it; the count is the requests',
  },
  queueDuration: {
    name: 'block.request.queue.duration',
    unit: 's',
    description:
      'Time a block request waited in the I/O scheduler: block_rq_insert -> block_rq_issue, for the requests that were queued (a request issued directly has none), by disk, operation and cgroup',
  },
  bytes: {
    name: 'block.io',
    unit: 'By',
    description: 'Bytes of the completed block requests, by disk, operation and cgroup',
  },
} satisfies Record<string, MetricName>;
