// What the tcp family exports: metric names, units and descriptions, and its attribute keys (shared ones: otel/semconv.ts).
import type { MetricName } from '../../otel/semconv';

export const TCP_ATTR = {
  state: 'tcp.state',
  event: 'tcp.event',
  serverPort: 'server.port',
} as const;

export const TCP = {
  rtt: {
    name: 'tcp.rtt',
    unit: 's',
    description: 'Smoothed round-trip time of TCP sockets, sampled on every tcp_probe event (ACK processing)',
  },
  connectDuration: {
    name: 'tcp.connect.duration',
    unit: 's',
    description: 'Time from SYN_SENT to ESTABLISHED (or to CLOSE for failed connects; error.type says why)',
  },
  retransmits: {
    name: 'tcp.retransmits',
    unit: '{segment}',
    description: 'Retransmitted TCP segments, by the socket state at the retransmit (SYN_SENT: SYN retransmits)',
  },
  lifecycle: {
    name: 'tcp.connection.events',
    unit: '{event}',
    description: 'TCP connection lifecycle events: open_active (connect), open_passive (accept), connect_failed, close',
  },
  requestDuration: {
    name: 'tcp.request.duration',
    unit: 's',
    description:
      'Client side of TCP connections this host opened: from the first byte sent after the last data received to the next data received (the reply), by server.port',
  },
  responseDuration: {
    name: 'tcp.response.duration',
    unit: 's',
    description:
      'Server side of TCP connections this host accepted: from the first data received after the last send (the request) to the next send (the response), by server.port',
  },
  connections: {
    name: 'tcp.connection.active',
    unit: '{connection}',
    description: 'Live TCP sockets by state, among those seen changing state since the agent started',
  },
  span: 'tcp.connection',
} satisfies Record<string, MetricName | string>;
