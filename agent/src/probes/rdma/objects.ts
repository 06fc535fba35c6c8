// rdma.resource.count: live verbs objects by (cgroup, device, type), counted from the rdma_objects map when
// a reader collects. Creates insert and destroys delete in the kernel, so the count cannot drift; entries
// of processes that exited without destroying their objects (the kernel freed them) are removed here.
import * as fs from 'node:fs';
import type { ObservableResult } from '@opentelemetry/api';
import { RDMA, RDMA_ATTR } from './semconv';
import { RecordReader } from '../../kernel/record';
import type { FamilyContext } from '../types';
import type { RdmaDevices } from './devices';
import { resourceName } from './names';

export interface LiveObject {
  tgid: number;
  cgroupId: number;
  type: number;
  device: string;
  /** the object's handle (user path) or restrack id (kernel path) */
  handle?: number;
  /** its key's address: the object in its process (user path) or its rdma_restrack_entry (kernel path) */
  ptr?: bigint;
}

export interface ObjectCount {
  cgroupId: number;
  device: string;
  type: number;
  n: number;
}

export function countObjects(objects: Iterable<LiveObject>): ObjectCount[] {
  const counts = new Map<string, ObjectCount>();
  for (const o of objects) {
    const key = `${o.cgroupId}|${o.device}|${o.type}`;
    const c = counts.get(key);
    if (c) c.n++;
    else counts.set(key, { cgroupId: o.cgroupId, device: o.device, type: o.type, n: 1 });
  }
  return [...counts.values()];
}

export function processAlive(tgid: number): boolean {
  return fs.existsSync(`/proc/${tgid}`);
}

export interface ObjectTableOptions {
  /** a process exited without destroying its objects (the kernel freed them): its entries are removed.
   * Unset (kernel path, where the kernel deletes them itself): no liveness sweep */
  onProcessGone?: (tgid: number) => void;
  alive?: (tgid: number) => boolean;
  /** rdma.source of the series: 'libibverbs' (uprobes, the default) or 'ib_core' (kernel path) */
  source?: string;
  /** objects known otherwise (the kernel path's netlink seeds), counted with the map's */
  extra?: (tracked: LiveObject[]) => LiveObject[];
  /** the map's live objects at each collection, after the sweep and extra(): the QP table reconciles */
  onCollected?: (tracked: LiveObject[]) => void;
}

export class ObjectTable {
  private readonly value: RecordReader<'cgroup_id' | 'type' | 'handle' | 'device'>;
  private readonly key: RecordReader<'tgid' | 'ptr'>;
  private readonly alive: (tgid: number) => boolean;
  private readonly source: string;

  constructor(
    private readonly ctx: FamilyContext,
    /** device names checked against the host's devices (devices.ts) */
    private readonly devices: Pick<RdmaDevices, 'name'>,
    private readonly options: ObjectTableOptions = {},
  ) {
    this.value = new RecordReader(ctx.object.layout('rdma_object'), ['cgroup_id', 'type', 'handle', 'device'] as const, 'rdma_object');
    this.key = new RecordReader(ctx.object.layout('rdma_object_key'), ['tgid', 'ptr'] as const, 'rdma_object_key');
    this.alive = options.alive ?? processAlive;
    this.source = options.source ?? 'libibverbs';
  }

  /** live objects now; removes (and reports) those of processes that are gone */
  read(): LiveObject[] {
    const batch = this.ctx.object.readMap('rdma_objects');
    const keySize = this.key.size;
    const live: LiveObject[] = [];
    const aliveCache = new Map<number, boolean>();
    const deadKeys: Buffer[] = [];
    for (let i = 0; i < batch.count; i++) {
      const tgid = this.key.u32(batch.keys, i * keySize, 'tgid');
      let alive = this.options.onProcessGone ? aliveCache.get(tgid) : true;
      if (alive === undefined) aliveCache.set(tgid, (alive = this.alive(tgid)));
      if (!alive) {
        deadKeys.push(batch.keys.subarray(i * keySize, (i + 1) * keySize));
        continue;
      }
      const base = i * batch.valueStride;
      live.push({
        tgid,
        cgroupId: this.value.u64(batch.values, base, 'cgroup_id'),
        type: this.value.u32(batch.values, base, 'type'),
        handle: this.value.u32(batch.values, base, 'handle'),
        device: this.devices.name(this.value.str(batch.values, base, 'device')),
        ptr: this.key.big64(batch.keys, i * keySize, 'ptr'),
      });
    }
    if (deadKeys.length) {
      this.ctx.object.deleteKeys('rdma_objects', Buffer.concat(deadKeys), deadKeys.length);
      for (const [tgid, alive] of aliveCache) if (!alive) this.options.onProcessGone?.(tgid);
    }
    return live;
  }

  observe(): { close(): void } {
    const counter = this.ctx.meter.createObservableUpDownCounter(RDMA.resources.name, {
      unit: RDMA.resources.unit,
      description: RDMA.resources.description,
    });
    // series seen before keep reporting 0 once their objects are gone, until their cgroup is removed
    const seen = new Map<string, ObjectCount>();
    const callback = (result: ObservableResult) => {
      const now = new Map<string, ObjectCount>();
      const tracked = this.read();
      const extra = this.options.extra?.(tracked) ?? [];
      this.options.onCollected?.(tracked);
      for (const c of countObjects([...tracked, ...extra])) now.set(`${c.cgroupId}|${c.device}|${c.type}`, c);
      for (const [key, c] of seen) {
        if (now.has(key)) continue;
        if (this.ctx.cgroups.pathOf(c.cgroupId) === undefined) seen.delete(key);
        else now.set(key, { ...c, n: 0 });
      }
      for (const [key, c] of now) {
        seen.set(key, c);
        result.observe(c.n, {
          ...this.ctx.cgroups.attributes(c.cgroupId),
          [RDMA_ATTR.device]: c.device,
          [RDMA_ATTR.resourceType]: resourceName(c.type),
          [RDMA_ATTR.source]: this.source,
        });
      }
    };
    counter.addCallback(callback);
    return { close: () => counter.removeCallback(callback) };
  }
}
