// One span per TCP connection, from the tcp_close_event records the kernel sends at CLOSE (only with
// families.tcp.connectionSpans). Records arrive in batches on the event loop; a record that cannot be
// decoded is counted as a drop, never thrown.
import { SpanKind, SpanStatusCode, type Attributes, type Tracer } from '@opentelemetry/api';
import type { CgroupResolver } from '../../host/cgroups';
import { monotonicOffsetNs, monotonicToHrTime } from '../../host/clock';
import { ATTR } from '../../otel/semconv';
import { TCP } from './semconv';
import type { TypeLayout } from '../../native';
import { RecordReader } from '../../kernel/record';
import { consumeRing } from '../../kernel/ringConsumer';
import type { FamilyContext, FamilyRuntime } from '../types';
import { errnoName } from '../../kernel/errno';
import { tcpStateName, TCP_LISTEN, TCP_OPEN_ACTIVE, TCP_OPEN_NAMES, TCP_SYN_SENT } from './states';
import { TURN_FIELDS, turnAttributes, turnStats, type TurnStats } from './turns';

/** struct tcp_tuple's fields under `tuple` (tcp_close_event, tcp_sock_info) */
export const TUPLE_FIELDS = ['tuple.saddr', 'tuple.daddr', 'tuple.sport', 'tuple.dport', 'tuple.family'] as const;

const FIELDS = [
  'start_ns',
  'end_ns',
  'cgroup_id',
  'bytes_acked',
  'bytes_received',
  'rtt_sum_us',
  'rtt_count',
  'rtt_min_us',
  'rtt_max_us',
  'retransmits',
  'open_kind',
  'old_state',
  'sk_err',
  'pid',
  'comm',
  ...TUPLE_FIELDS,
  ...TURN_FIELDS,
] as const;

const AF_INET = 2;

/** a record's tuple as the network.local/peer.address/port attributes */
export function tupleAttributes(r: RecordReader<(typeof TUPLE_FIELDS)[number]>, buf: Buffer, base: number): Attributes {
  const family = r.u16(buf, base, 'tuple.family');
  return {
    'network.local.address': formatAddress(r.bytes(buf, base, 'tuple.saddr'), family),
    'network.local.port': r.u16(buf, base, 'tuple.sport'),
    'network.peer.address': formatAddress(r.bytes(buf, base, 'tuple.daddr'), family),
    'network.peer.port': r.u16(buf, base, 'tuple.dport'),
  };
}

export function formatAddress(bytes: Buffer, family: number): string {
  if (family === AF_INET) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  // compress the longest run of zero groups (RFC 5952)
  let best = -1,
    bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

export interface DecodedClose {
  startNs: bigint;
  endNs: bigint;
  cgroupId: number;
  attributes: Attributes;
  failed: boolean;
  errorType?: string;
  active: boolean;
  /** a listening socket closing: not a connection */
  listener: boolean;
  turns?: TurnStats;
}

export function makeCloseDecoder(layout: TypeLayout, cgroups: CgroupResolver) {
  const r = new RecordReader(layout, FIELDS, 'tcp_close_event');
  return (buf: Buffer, base: number): DecodedClose => {
    const family = r.u16(buf, base, 'tuple.family');
    const rttCount = r.u32(buf, base, 'rtt_count');
    const oldState = r.u32(buf, base, 'old_state');
    const skErr = r.u32(buf, base, 'sk_err');
    const openKind = r.u32(buf, base, 'open_kind');
    const cgroupId = r.u64(buf, base, 'cgroup_id');
    const pid = r.u32(buf, base, 'pid');
    const failed = oldState === TCP_SYN_SENT;
    const attributes: Attributes = {
      ...cgroups.attributes(cgroupId),
      'network.transport': 'tcp',
      'network.type': family === AF_INET ? 'ipv4' : 'ipv6',
      ...tupleAttributes(r, buf, base),
      'tcp.open': TCP_OPEN_NAMES[openKind] ?? 'unknown',
      'tcp.state.before_close': tcpStateName(oldState),
      'tcp.bytes_acked': r.u64(buf, base, 'bytes_acked'),
      'tcp.bytes_received': r.u64(buf, base, 'bytes_received'),
      'tcp.retransmits': r.u32(buf, base, 'retransmits'),
    };
    if (rttCount > 0) {
      attributes['tcp.rtt.min'] = r.u32(buf, base, 'rtt_min_us') / 1e6;
      attributes['tcp.rtt.avg'] = r.u64(buf, base, 'rtt_sum_us') / rttCount / 1e6;
      attributes['tcp.rtt.max'] = r.u32(buf, base, 'rtt_max_us') / 1e6;
    }
    // a client's requests, a server's responses (families.tcp.requestLatency)
    const turns = turnStats((f) => r.u64(buf, base, f));
    if (turns) Object.assign(attributes, turnAttributes(turns, openKind === TCP_OPEN_ACTIVE));
    if (pid !== 0) {
      attributes['process.pid'] = pid;
      attributes['process.executable.name'] = r.str(buf, base, 'comm');
    }
    const errorType = skErr !== 0 ? errnoName(skErr) : failed ? 'connect_failed' : undefined;
    if (errorType) attributes[ATTR.errorType] = errorType;
    return {
      startNs: r.big64(buf, base, 'start_ns'),
      endNs: r.big64(buf, base, 'end_ns'),
      cgroupId,
      attributes,
      failed,
      errorType,
      active: openKind === TCP_OPEN_ACTIVE,
      turns,
      listener: oldState === TCP_LISTEN,
    };
  };
}

function emitSpan(tracer: Tracer, ev: DecodedClose, offsetNs: bigint): void {
  const span = tracer.startSpan(TCP.span, {
    kind: ev.active ? SpanKind.CLIENT : SpanKind.SERVER,
    startTime: monotonicToHrTime(ev.startNs, offsetNs),
    attributes: ev.attributes,
  });
  if (ev.failed) span.setStatus({ code: SpanStatusCode.ERROR, message: ev.errorType });
  span.end(monotonicToHrTime(ev.endNs, offsetNs));
}

/** onClose: every connection closed (not listeners), after its span */
export function startConnectionSpans(ctx: FamilyContext, onClose?: (ev: DecodedClose) => void): FamilyRuntime {
  const layout = ctx.object.layout('tcp_close_event');
  const decode = makeCloseDecoder(layout, ctx.cgroups);
  return consumeRing(ctx, { ring: 'tcp_events', family: 'tcp', recordSize: layout.size }, (batch) => {
    const offset = monotonicOffsetNs();
    return (base) => {
      const ev = decode(batch, base);
      if (ev.listener) return;
      emitSpan(ctx.tracer, ev, offset);
      onClose?.(ev);
    };
  });
}
