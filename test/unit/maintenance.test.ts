// Collections only read: reading the metrics (twice, as an OTLP export and a Prometheus scrape would) leaves
// the kernel maps and the family state as they were; the maintenance tick does the cgroup sweep, the
// lock_addrs eviction and the RDMA exited-process sweep. Maps, layouts and cgroups are stand-ins here
// (test/integration/cgroup-sweep.test.ts sweeps real maps).
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import type { Tracer } from '@opentelemetry/api';
import { AggregationTemporality, MeterProvider, MetricReader, type MetricProducer } from '@opentelemetry/sdk-metrics';
import { loadConfig } from '../../agent/src/config';
import type { CgroupResolver } from '../../agent/src/host/cgroups';
import { UserDrops } from '../../agent/src/kernel/drops';
import type { BpfObject, MapBatch, TypeLayout } from '../../agent/src/native';
import { KernelMetricProducer } from '../../agent/src/otel/KernelMetricProducer';
import { scaleLayout } from '../../agent/src/kernel/exponentialBuckets';
import { CgroupSweep } from '../../agent/src/probes/cgroupSweep';
import type { LoadedFamily } from '../../agent/src/probes/load';
import { observeTopLocks } from '../../agent/src/probes/locks/topLocks';
import { KernelSymbols } from '../../agent/src/probes/locks/kallsyms';
import { Maintenance } from '../../agent/src/probes/maintenance';
import { ObjectTable } from '../../agent/src/probes/rdma/objects';
import type { Family, FamilyContext } from '../../agent/src/probes/types';
import { captureLogger } from '../helpers/captureLogger';

const field = (offset: number, size: number) => ({ offset, size });
const LAYOUTS: Record<string, TypeLayout> = {
  kotel_cg_key: { size: 16, fields: { cgroup_id: field(0, 8), kind: field(8, 4), chunk: field(12, 4) } },
  lock_addr_stat: {
    size: 32,
    fields: { count: field(0, 8), wait_ns: field(8, 8), max_ns: field(16, 8), flags: field(24, 4), class: field(28, 4) },
  },
  rdma_object_key: { size: 16, fields: { tgid: field(0, 4), ptr: field(8, 8) } },
  rdma_object: { size: 32, fields: { cgroup_id: field(0, 8), type: field(8, 4), handle: field(12, 4), device: field(16, 16) } },
};

/** hash maps in memory, with the addon's readMap/readMapSummed/deleteKeys */
class StandInObject {
  readonly maps = new Map<string, { keySize: number; valueSize: number; maxEntries: number; entries: Map<string, Buffer> }>();
  deletes = 0;

  add(map: string, keySize: number, valueSize: number, maxEntries = 1024): this {
    this.maps.set(map, { keySize, valueSize, maxEntries, entries: new Map() });
    return this;
  }
  put(map: string, key: Buffer, value: Buffer): void {
    this.maps.get(map)!.entries.set(key.toString('hex'), value);
  }
  /** every map's keys, for comparing before and after */
  snapshot(): Record<string, string[]> {
    return Object.fromEntries([...this.maps].map(([name, m]) => [name, [...m.entries.keys()].sort()]));
  }
  layout(name: string): TypeLayout {
    return LAYOUTS[name];
  }
  mapInfo(name: string) {
    const m = this.maps.get(name)!;
    return { name, type: 'hash', keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, percpu: false, flags: 0 };
  }
  readMap(name: string): MapBatch {
    const m = this.maps.get(name)!;
    const keys = [...m.entries.keys()].map((k) => Buffer.from(k, 'hex'));
    return { count: keys.length, keys: Buffer.concat(keys), values: Buffer.concat([...m.entries.values()]), valueStride: m.valueSize };
  }
  readMapSummed(name: string): MapBatch {
    return this.readMap(name); // not per-CPU
  }
  deleteKeys(name: string, keys: Buffer, count: number): number {
    const m = this.maps.get(name)!;
    let n = 0;
    for (let i = 0; i < count; i++) if (m.entries.delete(keys.subarray(i * m.keySize, (i + 1) * m.keySize).toString('hex'))) n++;
    this.deletes += n;
    return n;
  }
}

function cgKey(cgroupId: number, kind = 0): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(BigInt(cgroupId), 0);
  b.writeUInt32LE(kind, 8);
  return b;
}

function lockStat(waitNs: number): Buffer {
  const b = Buffer.alloc(32);
  b.writeBigUInt64LE(1n, 0);
  b.writeBigUInt64LE(BigInt(waitNs), 8);
  b.writeBigUInt64LE(BigInt(waitNs), 16);
  return b;
}

function rdmaObject(tgid: number, ptr: bigint, cgroupId: number): [Buffer, Buffer] {
  const key = Buffer.alloc(16);
  key.writeUInt32LE(tgid, 0);
  key.writeBigUInt64LE(ptr, 8);
  const value = Buffer.alloc(32);
  value.writeBigUInt64LE(BigInt(cgroupId), 0);
  value.writeUInt32LE(5, 8); // qp
  value.write('mlx5_0', 16);
  return [key, value];
}

class CollectingReader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** the value of each data point of `name`, by its cgroup */
async function collect(reader: MetricReader, name: string): Promise<Record<string, number>> {
  const { resourceMetrics, errors } = await reader.collect();
  assert.deepEqual(errors, []);
  const out: Record<string, number> = {};
  for (const scope of resourceMetrics.scopeMetrics)
    for (const m of scope.metrics)
      if (m.descriptor.name === name)
        for (const p of m.dataPoints) out[String(p.attributes['cgroup.id'] ?? p.attributes['lock.address'])] = p.value as number;
  return out;
}

test('collecting twice changes no kernel map and no family state; the maintenance tick sweeps', async () => {
  const object = new StandInObject().add('c', 16, 8).add('lock_addrs', 8, 32, 8).add('rdma_objects', 16, 32);
  // cgroup 1 lives, 99 was removed, 0 is the kernel's
  for (const id of [0, 1, 99]) object.put('c', cgKey(id), Buffer.alloc(8, 1));
  // 6 of 8 lock addresses: 3/4 full, so all but the hottest max(top, 8 / 4) = 2 go at eviction
  for (let i = 1; i <= 6; i++) {
    const key = Buffer.alloc(8);
    key.writeBigUInt64LE(0xffffffff82000000n + BigInt(i * 8));
    object.put('lock_addrs', key, lockStat(i * 1000));
  }
  // process 2 exited without destroying its QP
  object.put('rdma_objects', ...rdmaObject(1, 0x1000n, 1));
  object.put('rdma_objects', ...rdmaObject(2, 0x2000n, 1));

  const live = new Set([1]);
  const cgroups = {
    mount: '/sys/fs/cgroup',
    scan: () => undefined,
    exists: (id: number) => live.has(id),
    forget: () => undefined,
    pathOf: (id: number) => (live.has(id) ? `/cg${id}` : undefined),
    attributes: (id: number) => ({ 'cgroup.id': id }),
  } as unknown as CgroupResolver;
  const { logger } = captureLogger('warn');
  const maintenance = new Maintenance(1000, logger);
  const family = {
    name: 'test',
    kernelMetrics: [{ type: 'counter', map: 'c', metric: { name: 'test.c', unit: '1', description: '' } }],
  } as unknown as Family;
  const bpf = object as unknown as BpfObject;
  const sweep = new CgroupSweep([{ family, object: bpf, attachments: [] } as LoadedFamily], cgroups, logger);
  maintenance.add('cgroup sweep', () => sweep.run());

  const producer: MetricProducer = new KernelMetricProducer(
    () => [{ family: 'test', object: bpf, metrics: family.kernelMetrics }],
    cgroups,
    AggregationTemporality.CUMULATIVE,
    [0, 0],
    { layout: scaleLayout(4), aggregation: 'exponential' },
  );
  const reader = new CollectingReader({ metricProducers: [producer] });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const ctx: FamilyContext = {
    object: bpf,
    config: loadConfig({ env: {} }),
    meter: meterProvider.getMeter('test'),
    tracer: {} as Tracer,
    cgroups,
    logger,
    drops: new UserDrops(),
    maintenance,
  };
  const gone: number[] = [];
  const objects = new ObjectTable(ctx, { name: (n) => n }, { onProcessGone: (tgid) => gone.push(tgid), alive: (tgid) => tgid !== 2 });
  const runtimes = [objects.observe(), observeTopLocks(ctx, () => KernelSymbols.parse(''), 1)];

  const before = object.snapshot();
  for (let i = 0; i < 2; i++) {
    assert.deepEqual(await collect(reader, 'rdma.resource.active'), { 1: 1 }, "the exited process's QP is not counted");
    assert.deepEqual(Object.keys(await collect(reader, 'test.c')).sort(), ['0', '1', '99']);
    assert.equal(Object.keys(await collect(reader, 'lock.contention.top.wait')).length, 1);
  }
  assert.deepEqual(object.snapshot(), before, 'no map entry deleted by a collection');
  assert.equal(object.deletes, 0);
  assert.deepEqual(gone, [], 'no process reported gone by a collection');

  maintenance.tick();
  assert.equal(object.snapshot().rdma_objects.length, 1, "the exited process's entry is removed");
  assert.deepEqual(gone, [2]);
  assert.equal(object.snapshot().lock_addrs.length, 2, 'the cold lock addresses are evicted');
  assert.equal(object.snapshot().c.length, 3, 'the first sweep only marks cgroup 99');
  maintenance.tick();
  assert.deepEqual(object.snapshot().c, [cgKey(0).toString('hex'), cgKey(1).toString('hex')].sort(), 'the second sweep deletes cgroup 99');
  assert.deepEqual(await collect(reader, 'rdma.resource.active'), { 1: 1 });

  runtimes.forEach((r) => r.close());
  maintenance.close();
  await meterProvider.shutdown();
});

test('a task that throws is logged and counted, the others still run; close() stops the timer', async () => {
  const { logger, lines } = captureLogger('warn');
  const maintenance = new Maintenance(10, logger);
  let runs = 0;
  let slow = 0;
  maintenance.add('broken', () => {
    throw new Error('map gone');
  });
  maintenance.add('counting', () => runs++);
  maintenance.add('every third', () => slow++, 25);
  for (let i = 0; i < 6; i++) assert.doesNotThrow(() => maintenance.tick());
  assert.equal(runs, 6);
  assert.equal(slow, 2, 'every 25 ms: every third 10 ms tick');
  assert.deepEqual([...maintenance.failures()], [['broken', 6]]);
  assert.equal(lines.filter((l) => l.msg === 'broken failed: map gone').length, 6);

  maintenance.start();
  await new Promise((r) => setTimeout(r, 60));
  assert.ok(runs > 6, 'the timer ticks');
  maintenance.close();
  const stopped = runs;
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(runs, stopped, 'no tick after close()');
});
