// Every metric and span kotel exports: names, units and attribute keys in one place. Units go in the unit
// field (UCUM), never in the name; no `_total` suffix (the Prometheus exporter adds its own).

export const ATTR = {
  cgroupId: 'cgroup.id',
  cgroupPath: 'cgroup.path',
  containerId: 'container.id',
  errorType: 'error.type',
  tcpState: 'tcp.state',
  tcpDirection: 'tcp.direction',
  tcpEvent: 'tcp.event',
  probe: 'kotel.probe',
  program: 'kotel.program',
  hook: 'kotel.hook',
  family: 'kotel.family',
  dropReason: 'kotel.drop.reason',
  signal: 'kotel.signal',
} as const;

export interface MetricName {
  name: string;
  unit: string;
  description: string;
}

export const TCP = {
  rtt: { name: 'tcp.rtt', unit: 's', description: 'Smoothed round-trip time of TCP sockets, sampled on every tcp_probe event (ACK processing)' },
  connectDuration: { name: 'tcp.connect.duration', unit: 's', description: 'Time from SYN_SENT to ESTABLISHED (or to CLOSE for failed connects; error.type says why)' },
  retransmits: { name: 'tcp.retransmits', unit: '{segment}', description: 'Retransmitted TCP segments, by the socket state at the retransmit (SYN_SENT: SYN retransmits)' },
  lifecycle: { name: 'tcp.connection.events', unit: '{event}', description: 'TCP connection lifecycle events: open_active (connect), open_passive (accept), connect_failed, close' },
  connections: { name: 'tcp.connection.count', unit: '{connection}', description: 'Live TCP sockets by state, among those seen changing state since the agent started' },
  span: 'tcp.connection',
} satisfies Record<string, MetricName | string>;

export const SELF = {
  probeAttached: { name: 'kotel.probe.attached', unit: '1', description: '1 when the probe attached (kotel.hook says how), 0 when it could not' },
  eventsDropped: { name: 'kotel.events.dropped', unit: '{event}', description: 'Events lost before export, by family and reason (ringbuf_full, map_full, decode, export_failed)' },
  bpfRunDuration: { name: 'kotel.bpf.run.duration', unit: 's', description: 'Cumulative kernel time spent in each BPF program (only while BPF run-time stats are on)' },
  bpfRunCount: { name: 'kotel.bpf.run.count', unit: '{run}', description: 'Times each BPF program ran (only while BPF run-time stats are on)' },
  exports: { name: 'kotel.export.results', unit: '{export}', description: 'OTLP export attempts by signal and outcome' },
} satisfies Record<string, MetricName>;
