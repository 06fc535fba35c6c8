// TCP family: RTT, connect-latency and request/response histograms, retransmits and lifecycle counters
// aggregated in the kernel (bpf/tcp.bpf.c, ABI in bpf/tcp.h); live connections by state counted from the tcp_socks map at
// collection time; optionally one span per connection from close events on the tcp_events ring buffer.
import { ATTR } from '../../otel/semconv';
import { TCP, TCP_ATTR } from './semconv';
import { rawTracepointLadder, tracepointLadder } from '../ladder';
import type { Rung } from '../../native';
import type { FamilyFolder, Family } from '../types';
import { startConnectionSpans } from './connectionSpans';
import { observeConnectionCount } from './connectionCount';
import { ConnectionTurnsReport } from './connectionTurns';
import { errnoName } from '../../kernel/errno';
import { tcpStateName, TCP_LIFECYCLE_NAMES } from './states';
import { tcpConfig } from './config';
import { hasTracepoint } from '../../host/tracepoints';

// RTT: 2^10 ns (1 µs) .. 2^36 ns (~69 s); connect: 2^12 ns (4 µs) .. 2^37 ns (~137 s)
/** classic buckets: 1 us to 64 s, finer from 10 us to 100 ms (LAN to WAN round trips) */
const RTT_CLASSIC = { from: 1e-6, to: 64, fine: [1e-5, 0.1] as [number, number] };
/** 4 us to 128 s, finer from 10 us to 1 s (a SYN retransmission takes 1 s) */
const CONNECT_CLASSIC = { from: 4e-6, to: 128, fine: [1e-5, 1] as [number, number] };

/** request and response turns: 1 us to 64 s, finer from 100 us to 10 s (LAN services to slow backends) */
const TURN_CLASSIC = { from: 1e-6, to: 64, fine: [1e-4, 10] as [number, number] };

/** the application's sends: tcp_sendmsg (fentry, kprobe), else the sock_send_length tracepoint where the
 * kernel has it (6.3+) */
function sendLadder(): Rung[] {
  return [
    { program: 'tcp_sendmsg_fentry', kind: 'fentry', target: 'tcp_sendmsg' },
    { program: 'tcp_sendmsg_kprobe', kind: 'kprobe', target: 'tcp_sendmsg' },
    ...(hasTracepoint('sock_send_length') === false ? [] : rawTracepointLadder('sock_send_length')),
  ];
}

const portAttributes = (kind: number) => (kind === 0 ? {} : { [TCP_ATTR.serverPort]: kind });

export const tcpFamily: Family = {
  name: 'tcp',
  makesSpan: (name) => name === TCP.span,
  enabled: (config) => config.families.tcp.enabled,
  openOptions: (config) => {
    const tcp = config.families.tcp;
    return {
      rodata: { targ_close_events: tcp.connectionSpans, targ_request_latency: tcp.requestLatency },
      maxEntries: {
        tcp_socks: tcp.maxSockets,
        tcp_rtt_hist: tcp.maxCgroupKeys,
        tcp_connect_hist: tcp.maxCgroupKeys,
        tcp_retransmits: tcp.maxCgroupKeys,
        tcp_lifecycle: tcp.maxCgroupKeys,
        tcp_request_hist: tcp.maxCgroupKeys,
        tcp_response_hist: tcp.maxCgroupKeys,
      },
      ladders: {
        tcp_probe: tracepointLadder('tcp_probe'),
        inet_sock_set_state: tracepointLadder('inet_sock_set_state'),
        tcp_retransmit_skb: tracepointLadder('tcp_retransmit_skb'),
        ...(tcp.requestLatency ? { tcp_sendmsg: sendLadder() } : {}),
      },
    };
  },
  maps: {
    tcp_socks: { key: 8, value: 'tcp_sock_info' },
  },
  dropsMap: 'tcp_drops',
  kernelMetrics: [
    { type: 'histogram', map: 'tcp_rtt_hist', metric: TCP.rtt, classic: RTT_CLASSIC },
    {
      type: 'histogram',
      map: 'tcp_connect_hist',
      metric: TCP.connectDuration,
      classic: CONNECT_CLASSIC,
      kindAttributes: (kind) => (kind === 0 ? {} : { [ATTR.errorType]: errnoName(kind) }),
    },
    {
      type: 'counter',
      map: 'tcp_retransmits',
      metric: TCP.retransmits,
      kindAttributes: (kind) => ({ [TCP_ATTR.state]: tcpStateName(kind) }),
    },
    {
      type: 'counter',
      map: 'tcp_lifecycle',
      metric: TCP.lifecycle,
      kindAttributes: (kind) => ({ [TCP_ATTR.event]: TCP_LIFECYCLE_NAMES[kind] ?? `kind_${kind}` }),
    },
    { type: 'histogram', map: 'tcp_request_hist', metric: TCP.requestDuration, classic: TURN_CLASSIC, kindAttributes: portAttributes },
    { type: 'histogram', map: 'tcp_response_hist', metric: TCP.responseDuration, classic: TURN_CLASSIC, kindAttributes: portAttributes },
  ],
  start(ctx) {
    const tcp = ctx.config.families.tcp;
    const turns = tcp.requestLatency ? new ConnectionTurnsReport(ctx) : undefined;
    const closers = [observeConnectionCount(ctx)];
    if (tcp.connectionSpans) closers.push(startConnectionSpans(ctx, turns && ((ev) => turns.closedOne(ev))));
    return {
      close: () => closers.forEach((c) => c.close()),
      report: turns && (() => ({ connections: turns.connections() })),
    };
  },
};

/** the tcp folder for the registry */
export const folder = { config: tcpConfig, families: [tcpFamily] } satisfies FamilyFolder;
