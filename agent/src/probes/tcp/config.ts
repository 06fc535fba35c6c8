// families.tcp.* in the config schema (the registry gathers the families' fragments for agent/src/config/schema.ts).
import { fragment } from '../../config/spec';

export const tcpConfig = fragment({
  enabled: { doc: 'Attach the TCP probes (RTT, connect latency, retransmits).', format: 'bool', default: true },
  connectionSpans: {
    doc: 'Emit one span per TCP connection when it closes (4-tuple, bytes, RTT, retransmits).',
    format: 'bool',
    default: false,
  },
  requestLatency: {
    doc: 'Request/response latency per connection (tcp.request.duration on connections this host opened, tcp.response.duration on those it accepted). Off by default: it hooks every TCP send (fentry/kprobe tcp_sendmsg, or the sock_send_length tracepoint) and looks the socket up on every received data segment (on the reference VM tcp_probe costs 383 instead of 269 ns, a send ~100 ns more, and a TCP request/response benchmark keeps 0.89 of its throughput instead of 0.97).',
    format: 'bool',
    default: false,
  },
  spanSampling: {
    doc: 'Share of tcp.connection spans exported (0-1, by trace id); the others are counted in kotel.spans.sampled_out, so totals stay exact.',
    format: 'ratio',
    default: 1,
  },
  maxSockets: {
    doc: 'Sockets tracked at once in the kernel (size of the per-socket map); more are not followed.',
    format: 'int',
    min: 1,
    default: 65536,
  },
  maxCgroupKeys: {
    doc: 'Distinct cgroups the TCP metrics are kept for (size of the per-cgroup maps).',
    format: 'int',
    min: 1,
    default: 10240,
  },
});
