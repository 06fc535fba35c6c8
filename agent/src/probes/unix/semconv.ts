// What the Unix-socket family exports: metric names, units and descriptions (cgroup attributes: otel/semconv.ts).
import type { MetricName } from '../../otel/semconv';

export const UNIX = {
  requestDuration: {
    name: 'unix.request.duration',
    unit: 's',
    description:
      'Client side of connected Unix stream sockets (the side that connected to a named socket): from the first send after the last data received to the next data received (the reply), by the cgroup of the task that received it',
  },
  responseDuration: {
    name: 'unix.response.duration',
    unit: 's',
    description:
      'Server side of connected Unix stream sockets (the side accepted on a named socket): from the first data received after the last send (the request) to the next send (the response), by the cgroup of the task that sent it',
  },
} satisfies Record<string, MetricName>;
