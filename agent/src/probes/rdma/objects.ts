// rdma.resource.active: live verbs objects by (cgroup, device, type), counted from the rdma_objects map when
// a reader collects. Creates insert and destroys delete in the kernel, so the count cannot drift; entries
// of processes that exited without destroying their objects (the kernel freed them) are not counted, and
// removed at maintenance.
import * as fs from 'node:fs';
import type { ObservableResult } from '@opentelemetry/api';
import { RDMA, RDMA_ATTR } from './semconv';
import { RecordReader } from '../../kernel/record';
import type { FamilyContext } from '../types';
import type { RdmaDevices } from './devices';
import { LingeringSeries } from './lingering';
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
  /** a process exited without destroying its objects (the kernel freed them): its entries are removed at
   * maintenance. Unset (kernel path, where the kernel deletes them itself): no liveness sweep */
  onProcessGone?: (tgid: number) => void;
  alive?: (tgid: number) => boolean;
  /** rdma.source of the series: 'libibverbs' (uprobes, the default) or 'ib_core' (kernel path) */
  source?: string;
  /** objects known otherwise (the kernel path's netlink seeds), counted with the map's; only reads */
  extra?: (tracked: LiveObject[]) => LiveObject[];
  /** the map's live objects at each maintenance, after the liveness sweep: the QP table reconciles */
  onMaintenance?: (tracked: LiveObject[]) => void;
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

  /** live objects now, without those of processes that are gone */
  read(): LiveObject[] {
    return this.scan().live;
  }

  /** maintenance: removes (and reports) the entries of processes that are gone; returns the live objects */
  sweep(): LiveObject[] {
    const { live, deadKeys, dead } = this.scan();
    if (deadKeys.length) {
      this.ctx.object.deleteKeys('rdma_objects', Buffer.concat(deadKeys), deadKeys.length);
      for (const tgid of dead) this.options.onProcessGone?.(tgid);
    }
    return live;
  }

  private scan(): { live: LiveObject[]; deadKeys: Buffer[]; dead: number[] } {
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
    const dead = [...aliveCache].filter(([, alive]) => !alive).map(([tgid]) => tgid);
    return { live, deadKeys, dead };
  }

  /** counts by (cgroup, device, type) of the map's live objects and extra()'s */
  private series(tracked: LiveObject[]): Map<string, ObjectCount> {
    const now = new Map<string, ObjectCount>();
    const extra = this.options.extra?.(tracked) ?? [];
    for (const c of countObjects([...tracked, ...extra])) now.set(`${c.cgroupId}|${c.device}|${c.type}`, c);
    return now;
  }

  observe(): { close(): void } {
    const counter = this.ctx.meter.createObservableUpDownCounter(RDMA.resources.name, {
      unit: RDMA.resources.unit,
      description: RDMA.resources.description,
    });
    // series seen before keep reporting 0 once their objects are gone, until their cgroup is removed
    const lingering = new LingeringSeries<ObjectCount>((id) => this.ctx.cgroups.pathOf(id) === undefined);
    const removeTask = this.ctx.maintenance.add(`rdma objects (${this.source})`, () => {
      const tracked = this.sweep();
      this.options.onMaintenance?.(tracked);
      lingering.prune();
    });
    const callback = (result: ObservableResult) => {
      for (const c of lingering.report(this.series(this.read()), (c) => ({ ...c, n: 0 })).values()) {
        result.observe(c.n, {
          ...this.ctx.cgroups.attributes(c.cgroupId),
          [RDMA_ATTR.device]: c.device,
          [RDMA_ATTR.resourceType]: resourceName(c.type),
          [RDMA_ATTR.source]: this.source,
        });
      }
    };
    counter.addCallback(callback);
    return {
      close: () => {
        removeTask();
        counter.removeCallback(callback);
      },
    };
  }
}
