// The live QP table, fed by the rdma_events ring buffer (one record per QP create, state change and
// destroy): one span per QP from create to destroy with an event per transition, the connection tuple
// once the QP reaches RTR with a destination, and rdma.connection.active / the console's connection table.
// Records can be lost (ringbuf_full), so at each maintenance the table is reconciled with the kernel's
// exact live-object map: a QP the kernel no longer has is ended as destroy_unseen.
import type { Attributes, HrTime, ObservableResult, Span, Tracer } from '@opentelemetry/api';
import type { CgroupResolver } from '../../host/cgroups';
import { epochNsToHrTime, monotonicOffsetNs } from '../../host/clock';
import type { TypeLayout } from '../../native';
import { RDMA, RDMA_ATTR } from './semconv';
import { readU64 } from '../../kernel/mapValues';
import { RecordReader } from '../../kernel/record';
import { consumeRing } from '../../kernel/ringConsumer';
import type { FamilyContext, FamilyRuntime } from '../types';
import type { RdmaDevices } from './devices';
import { LingeringSeries } from './lingering';
import { formatGid, QP_EVENT, QP_TYPE_NAMES, qpStateName, QPS_RTR } from './names';

const FIELDS = [
  'ts_ns',
  'cgroup_id',
  'qp',
  'tgid',
  'tid',
  'kind',
  'qpn',
  'qp_type',
  'state',
  'attr_mask',
  'dest_qpn',
  'port',
  'sgid_index',
  'is_global',
  'dgid',
  'comm',
  'device',
] as const;

const IBV_QP_DEST_QPN = 1 << 20; // = IB_QP_DEST_QPN (the uverbs ABI passes the mask through)
const IBV_QP_AV = 1 << 7;

/** span attribute keys of rdma.qp (README: Metrics and spans) */
export const QP_ATTR = {
  device: 'rdma.device',
  port: 'rdma.port',
  qpType: 'rdma.qp.type',
  state: 'rdma.qp.state',
  srcGid: 'rdma.src.gid',
  srcQpn: 'rdma.src.qp_num',
  dstGid: 'rdma.dst.gid',
  dstQpn: 'rdma.dst.qp_num',
  untracked: 'rdma.qp.untracked',
  end: 'rdma.qp.end',
  pid: 'process.pid',
  tid: 'thread.id',
  comm: 'process.executable.name',
  source: 'rdma.source',
} as const;

export interface QpEvent {
  tsNs: bigint;
  cgroupId: number;
  qp: bigint;
  tgid: number;
  tid: number;
  kind: number;
  qpn: number;
  qpType: number;
  state: number;
  attrMask: number;
  destQpn?: number;
  port: number;
  sgidIndex?: number;
  dgid?: string;
  comm: string;
  device: string;
}

export function makeQpEventDecoder(layout: TypeLayout) {
  const r = new RecordReader(layout, FIELDS, 'rdma_qp_event');
  // tens of thousands of records a second in a burst: offsets resolved once, names remembered by their bytes
  const o = Object.fromEntries(FIELDS.map((f) => [f, r.offset(f)])) as Record<(typeof FIELDS)[number], number>;
  const comm = r.stringField('comm');
  const device = r.stringField('device');
  return (buf: Buffer, base: number): QpEvent => {
    const mask = buf.readUInt32LE(base + o.attr_mask);
    const global = (mask & IBV_QP_AV) !== 0 && buf.readUInt32LE(base + o.is_global) !== 0;
    return {
      tsNs: buf.readBigUInt64LE(base + o.ts_ns),
      cgroupId: readU64(buf, base + o.cgroup_id),
      qp: buf.readBigUInt64LE(base + o.qp),
      tgid: buf.readUInt32LE(base + o.tgid),
      tid: buf.readUInt32LE(base + o.tid),
      kind: buf.readUInt32LE(base + o.kind),
      qpn: buf.readUInt32LE(base + o.qpn),
      qpType: buf.readUInt32LE(base + o.qp_type),
      state: buf.readUInt32LE(base + o.state),
      attrMask: mask,
      destQpn: mask & IBV_QP_DEST_QPN ? buf.readUInt32LE(base + o.dest_qpn) : undefined,
      port: buf.readUInt32LE(base + o.port),
      sgidIndex: global ? buf.readUInt32LE(base + o.sgid_index) : undefined,
      dgid: global ? formatGid(r.bytes(buf, base, 'dgid')) : undefined,
      comm: comm.read(buf, base),
      device: device.read(buf, base),
    };
  };
}

export interface Connection {
  device: string;
  srcGid: string;
  srcQpn: number;
  dstGid: string;
  dstQpn: number;
  pid: number;
  comm: string;
  cgroupId: number;
  state: string;
}

/** how a QP's span ended (rdma.qp.end) when its destroy record was not the end */
export type QpEnd = 'process_exit' | 'destroy_unseen';

/** the kernel's view of the QPs, for reconcile() */
export interface QpLiveness {
  /** the live-object map (rdma_objects) holds this QP now */
  mapped(tgid: number, qp: bigint, qpn: number): boolean;
  /** a QP the map never held (created before kotel attached): undefined while it may live, else how it ended */
  older(qp: { tgid: number; device: string; qpn: number }): QpEnd | undefined;
}

/** kotel.drop.reason of a QP ended without its destroy record (lost in a full ring) */
export const DESTROY_UNSEEN = 'destroy_unseen';

interface LiveQp {
  span: Span;
  /** the QP's address in its record: the key of rdma_objects (user path: with tgid) */
  qp: bigint;
  /** the kernel's live-object map has held it (its create was seen, or a reconcile found it) */
  mapped: boolean;
  /** drain count when a reconcile first found it missing: ended if still missing after a later drain */
  missingAt?: number;
  cgroupId: number;
  tgid: number;
  device: string;
  qpn: number;
  comm: string;
  state: number;
  port: number;
  dstQpn?: number;
  dstGid?: string;
  srcGid?: string;
}

/** connected states: the QP has a destination and has not been reset or put in error */
const CONNECTED = new Set([2, 3, 4, 5]);

export class QpTable {
  /** by (qp << 32) | tgid: exact for any address and pid, and a BigInt hashes faster than a string key */
  private readonly live = new Map<bigint, LiveQp>();
  /** ring drains so far (drained()): a destroy record may still be in the ring when the map says gone */
  private drains = 0;
  /** monotonic → wall offset for the records being applied (set per batch by the consumer) */
  offsetNs = monotonicOffsetNs();

  constructor(
    private readonly tracer: Tracer,
    private readonly cgroups: CgroupResolver,
    /** device names checked against the host's devices, and their GIDs (devices.ts) */
    private readonly devices: Pick<RdmaDevices, 'name' | 'gid'>,
    private readonly spans: boolean,
    /** rdma.source on spans: which path saw the QP (libibverbs uprobes or ib_core hooks) */
    private readonly source = 'libibverbs',
    /** a QP ended without its destroy record (destroy_unseen), or not tracked: the table is full (map_full) */
    private readonly onDrop: (reason: typeof DESTROY_UNSEEN | 'map_full') => void = () => undefined,
    /** QPs tracked at most (rdma.maxObjects): any local process can create QPs, memory stays bounded */
    private readonly maxLive = Infinity,
  ) {}

  get size(): number {
    return this.live.size;
  }

  apply(ev: QpEvent): void {
    ev.device = this.devices.name(ev.device);
    const key = (ev.qp << 32n) | BigInt(ev.tgid);
    const time = epochNsToHrTime(ev.tsNs + this.offsetNs);
    let qp = this.live.get(key);
    if (ev.kind === QP_EVENT.create) {
      if (qp)
        this.end(qp, DESTROY_UNSEEN, time); // an address reused after a destroy we did not see
      else if (this.full()) return;
      this.live.set(key, this.start(ev, false));
      return;
    }
    if (!qp) {
      if (ev.kind === QP_EVENT.destroy) return; // created before the agent and never seen since
      if (this.full()) return;
      qp = this.start(ev, true);
      this.live.set(key, qp);
    }
    if (ev.kind === QP_EVENT.modify) {
      qp.state = ev.state;
      if (ev.port) qp.port = ev.port;
      const eventAttrs: Attributes = { [QP_ATTR.state]: qpStateName(ev.state) };
      if (ev.state === QPS_RTR && ev.destQpn !== undefined && ev.dgid !== undefined) {
        qp.dstQpn = ev.destQpn;
        qp.dstGid = ev.dgid;
        qp.srcGid = ev.sgidIndex !== undefined ? this.devices.gid(qp.device, qp.port || 1, ev.sgidIndex) : undefined;
        const tuple: Attributes = { [QP_ATTR.dstQpn]: qp.dstQpn, [QP_ATTR.dstGid]: qp.dstGid };
        if (qp.srcGid) tuple[QP_ATTR.srcGid] = qp.srcGid;
        if (qp.port) tuple[QP_ATTR.port] = qp.port;
        qp.span.setAttributes(tuple);
        Object.assign(eventAttrs, tuple);
      }
      qp.span.addEvent('rdma.qp.transition', eventAttrs, time);
      qp.span.setAttribute(QP_ATTR.state, qpStateName(ev.state));
      return;
    }
    if (ev.kind === QP_EVENT.destroy) {
      qp.span.setAttribute(QP_ATTR.end, 'destroy');
      qp.span.end(time);
      this.live.delete(key);
    }
  }

  private full(): boolean {
    if (this.live.size < this.maxLive) return false;
    this.onDrop('map_full');
    return true;
  }

  /** a ring drain completed: records submitted before it have been applied */
  drained(): void {
    this.drains++;
  }

  /** ends the QPs the kernel no longer has, once missing at two reconciles with a ring drain between
   * (a destroy record submitted just after the map was read ends it normally) */
  reconcile(kernel: QpLiveness): void {
    for (const [key, qp] of this.live) {
      let end: QpEnd | undefined;
      if (kernel.mapped(qp.tgid, qp.qp, qp.qpn)) qp.mapped = true;
      else end = qp.mapped ? DESTROY_UNSEEN : kernel.older(qp);
      if (end === undefined) {
        qp.missingAt = undefined;
        continue;
      }
      if (qp.missingAt === undefined) qp.missingAt = this.drains;
      if (qp.missingAt === this.drains) continue;
      this.end(qp, end);
      this.live.delete(key);
    }
  }

  /** ends the spans of a process that exited without destroying its QPs */
  processGone(tgid: number): void {
    for (const [key, qp] of this.live) {
      if (qp.tgid !== tgid) continue;
      this.end(qp, 'process_exit');
      this.live.delete(key);
    }
  }

  connections(): Connection[] {
    const out: Connection[] = [];
    for (const qp of this.live.values()) {
      if (qp.dstQpn === undefined || !CONNECTED.has(qp.state)) continue;
      out.push({
        device: qp.device,
        srcGid: qp.srcGid ?? '?',
        srcQpn: qp.qpn,
        dstGid: qp.dstGid ?? '?',
        dstQpn: qp.dstQpn,
        pid: qp.tgid,
        comm: qp.comm,
        cgroupId: qp.cgroupId,
        state: qpStateName(qp.state),
      });
    }
    return out;
  }

  /** ends every span (agent shutdown): the QPs live on, the spans say so */
  close(): void {
    for (const qp of this.live.values()) {
      qp.span.setAttribute(QP_ATTR.end, 'agent_stop');
      qp.span.end();
    }
    this.live.clear();
  }

  private end(qp: LiveQp, how: QpEnd, time?: HrTime): void {
    qp.span.setAttribute(QP_ATTR.end, how);
    qp.span.end(time);
    if (how === DESTROY_UNSEEN) this.onDrop(DESTROY_UNSEEN);
  }

  /** untracked: first seen at a state change (created before kotel attached, or its create record was
   * lost): the span starts there, marked rdma.qp.untracked */
  private start(ev: QpEvent, untracked: boolean): LiveQp {
    // copied key by key: V8 (Node 20) takes ~3 µs for an object spread of these dotted keys, ~0.1 µs this way
    const attributes: Attributes = {};
    const cgroup = this.cgroups.attributes(ev.cgroupId);
    for (const k in cgroup) attributes[k] = cgroup[k];
    attributes[QP_ATTR.srcQpn] = ev.qpn;
    attributes[QP_ATTR.state] = qpStateName(ev.state);
    attributes[QP_ATTR.pid] = ev.tgid;
    attributes[QP_ATTR.tid] = ev.tid;
    attributes[QP_ATTR.comm] = ev.comm;
    attributes[QP_ATTR.source] = this.source;
    if (ev.device) attributes[QP_ATTR.device] = ev.device;
    if (ev.kind !== QP_EVENT.destroy && QP_TYPE_NAMES[ev.qpType]) attributes[QP_ATTR.qpType] = QP_TYPE_NAMES[ev.qpType];
    if (untracked) attributes[QP_ATTR.untracked] = true;
    const span = this.spans
      ? this.tracer.startSpan(RDMA.span, { startTime: epochNsToHrTime(ev.tsNs + this.offsetNs), attributes })
      : NOOP_SPAN;
    return {
      span,
      qp: ev.qp,
      mapped: !untracked,
      cgroupId: ev.cgroupId,
      tgid: ev.tgid,
      device: ev.device,
      qpn: ev.qpn,
      comm: ev.comm,
      state: ev.state,
      port: 0,
    };
  }
}

const NOOP_SPAN = {
  setAttribute: () => NOOP_SPAN,
  setAttributes: () => NOOP_SPAN,
  addEvent: () => NOOP_SPAN,
  end: () => undefined,
} as unknown as Span;

/** a span costs ~40x the drain of its record: records wait in a backlog (kernel/ringConsumer.ts; user memory
 * while a burst waits, 32 MiB: ~180k records), handled 1024 at a time with the ring drained between slices */
export const RING_BACKLOG = { sliceRecords: 1024, maxBytes: 32 << 20 };

interface ConnectionSeries {
  attrs: Attributes;
  cgroupId: number;
  n: number;
}

export function startQpEvents(ctx: FamilyContext, table: QpTable, family = 'rdma', extra: Attributes = {}): FamilyRuntime {
  const layout = ctx.object.layout('rdma_qp_event');
  const decode = makeQpEventDecoder(layout);
  const options = { ring: 'rdma_events', family, recordSize: layout.size, backlog: RING_BACKLOG };
  const ring = consumeRing(ctx, { ...options, onDrained: () => table.drained() }, (batch) => {
    table.offsetNs = monotonicOffsetNs();
    return (base) => table.apply(decode(batch, base));
  });
  const gauge = ctx.meter.createObservableUpDownCounter(RDMA.connections.name, {
    unit: RDMA.connections.unit,
    description: RDMA.connections.description,
  });
  const series = () => {
    const counts = new Map<string, ConnectionSeries>();
    for (const c of table.connections()) {
      const key = `${c.cgroupId}|${c.device}`;
      const e = counts.get(key);
      if (e) e.n++;
      else
        counts.set(key, {
          attrs: { ...ctx.cgroups.attributes(c.cgroupId), [RDMA_ATTR.device]: c.device, ...extra },
          cgroupId: c.cgroupId,
          n: 1,
        });
    }
    return counts;
  };
  // (cgroup, device) series seen before report 0 once their connections are gone, until the cgroup is removed
  const lingering = new LingeringSeries<ConnectionSeries>((id) => ctx.cgroups.pathOf(id) === undefined);
  const removeTask = ctx.maintenance.add(`${family}: connection series`, () => lingering.prune());
  const callback = (result: ObservableResult) => {
    for (const { attrs, n } of lingering.report(series(), (s) => ({ ...s, n: 0 })).values()) result.observe(n, attrs);
  };
  gauge.addCallback(callback);
  return {
    close: () => {
      removeTask();
      gauge.removeCallback(callback);
      ring.close();
      table.close();
    },
  };
}
