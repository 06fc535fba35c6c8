// Kernel log2 histogram → OTel explicit-bucket histogram, through a real MeterProvider and an in-memory
// reader. The BPF object here is a stand-in (plain object with readMap/mapInfo/layout) so the test runs
// without privileges; its layouts mirror bpf/kotel.h, and test/integration checks the real ones.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type HistogramMetricData,
  type SumMetricData,
} from '@opentelemetry/sdk-metrics';
import { hrTime } from '@opentelemetry/core';
import { KernelMetricProducer } from '../../agent/src/otel/KernelMetricProducer';
import { log2Boundaries, toOtelHistogram } from '../../agent/src/otel/histogram';
import { CgroupResolver } from '../../agent/src/host/cgroups';
import type { BpfObject, MapBatch, MapInfo, TypeLayout } from '../../agent/src/native';

const SLOTS = 42;
const CPUS = 2;
const KEY: TypeLayout = {
  size: 16,
  fields: { cgroup_id: { offset: 0, size: 8 }, kind: { offset: 8, size: 4 }, _pad: { offset: 12, size: 4 } },
};
const HIST: TypeLayout = { size: SLOTS * 8 + 8, fields: { slots: { offset: 0, size: SLOTS * 8 }, sum_ns: { offset: SLOTS * 8, size: 8 } } };

/** per-CPU hist map with one key: cgroup 4242, kind 0; cpu 0 and cpu 1 hold different slots */
function standInObject(perCpuSlots: Record<number, number>[], perCpuSum: number[]): BpfObject {
  const stride = HIST.size * CPUS;
  const keys = Buffer.alloc(KEY.size);
  keys.writeBigUInt64LE(4242n, 0);
  const values = Buffer.alloc(stride);
  perCpuSlots.forEach((slots, cpu) => {
    for (const [slot, n] of Object.entries(slots)) values.writeBigUInt64LE(BigInt(n), cpu * HIST.size + Number(slot) * 8);
    values.writeBigUInt64LE(BigInt(perCpuSum[cpu]), cpu * HIST.size + SLOTS * 8);
  });
  const info: MapInfo = { name: 'h', type: 'percpu_hash', keySize: KEY.size, valueSize: HIST.size, maxEntries: 16, percpu: true, flags: 1 };
  const batch: MapBatch = { count: 1, keys, values, valueStride: stride };
  return {
    mapInfo: () => info,
    readMap: () => batch,
    layout: (name: string) => (name === 'kotel_cg_key' ? KEY : HIST),
  } as unknown as BpfObject;
}

test('log2 boundaries are the kernel slot edges in seconds', () => {
  assert.deepEqual(log2Boundaries({ minSlot: 10, maxSlot: 12 }), [1024e-9, 2048e-9, 4096e-9]);
});

test('slots fold below minSlot and above maxSlot, counts and sum are exact', () => {
  const slots = new Array(SLOTS).fill(0);
  slots[3] = 1; // folds into the first bucket
  slots[10] = 2; // (512, 1024] ns -> first bucket too (upper bound 2^10)
  slots[11] = 5; // (1024, 2048] ns
  slots[20] = 7; // > 2^12 -> overflow
  const h = toOtelHistogram(slots, 123_456, { minSlot: 10, maxSlot: 12 });
  assert.deepEqual(h.buckets.counts, [3, 5, 0, 7]);
  assert.equal(h.count, 15);
  assert.equal(h.sum, 123_456e-9);
});

test('a per-CPU kernel histogram exports through a real MeterProvider with exact buckets', async () => {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const object = standInObject(
    [
      { 20: 3, 21: 1 },
      { 21: 4, 30: 2 },
    ],
    [5_000_000, 7_000_000],
  );
  const producer = new KernelMetricProducer(
    () => [
      {
        family: 'test',
        object,
        metrics: [
          {
            type: 'histogram',
            map: 'h',
            metric: { name: 'test.latency', unit: 's', description: 'd' },
            slots: { minSlot: 18, maxSlot: 32 },
          },
        ],
      },
    ],
    new CgroupResolver(undefined),
    AggregationTemporality.CUMULATIVE,
    hrTime(),
  );
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000, metricProducers: [producer] });
  const provider = new MeterProvider({ readers: [reader] });
  await reader.forceFlush();
  const metrics = exporter.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((s) => s.metrics));
  const m = metrics.find((x) => x.descriptor.name === 'test.latency') as HistogramMetricData;
  assert.ok(m, 'test.latency exported');
  assert.equal(m.dataPointType, DataPointType.HISTOGRAM);
  assert.equal(m.descriptor.unit, 's');
  const dp = m.dataPoints[0];
  assert.equal(dp.attributes['cgroup.id'], 4242);
  assert.equal(dp.value.count, 10);
  assert.equal(dp.value.sum, 0.012);
  // bounds 2^18..2^32 ns: slot 20 -> index 2, slot 21 -> index 3, slot 30 -> index 12
  assert.equal(dp.value.buckets.boundaries[0], 2 ** 18 / 1e9);
  assert.equal(dp.value.buckets.counts[2], 3);
  assert.equal(dp.value.buckets.counts[3], 5);
  assert.equal(dp.value.buckets.counts[12], 2);
  await provider.shutdown();
});

test('delta temporality exports differences between collections', async () => {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.DELTA);
  let n = 5;
  const info: MapInfo = { name: 'c', type: 'percpu_hash', keySize: 16, valueSize: 8, maxEntries: 16, percpu: true, flags: 1 };
  const object = {
    mapInfo: () => info,
    layout: () => KEY,
    readMap: (): MapBatch => {
      const keys = Buffer.alloc(16);
      keys.writeBigUInt64LE(7n, 0);
      keys.writeUInt32LE(2, 8);
      const values = Buffer.alloc(16);
      values.writeBigUInt64LE(BigInt(n), 0);
      values.writeBigUInt64LE(1n, 8);
      return { count: 1, keys, values, valueStride: 16 };
    },
  } as unknown as BpfObject;
  const producer = new KernelMetricProducer(
    () => [
      {
        family: 'test',
        object,
        metrics: [
          {
            type: 'counter',
            map: 'c',
            metric: { name: 'test.count', unit: '{x}', description: 'd' },
            kindAttributes: (k) => ({ kind: k }),
          },
        ],
      },
    ],
    new CgroupResolver(undefined),
    AggregationTemporality.DELTA,
    hrTime(),
  );
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000, metricProducers: [producer] });
  const provider = new MeterProvider({ readers: [reader] });
  await reader.forceFlush();
  n = 9;
  await reader.forceFlush();
  const points = exporter
    .getMetrics()
    .flatMap((rm) => rm.scopeMetrics.flatMap((s) => s.metrics))
    .filter((m) => m.descriptor.name === 'test.count')
    .map((m) => (m as SumMetricData).dataPoints[0]);
  assert.deepEqual(
    points.map((p) => p.value),
    [6, 4],
  );
  assert.equal(points[1].attributes.kind, 2);
  await provider.shutdown();
});

/** a per-CPU counter map stand-in whose entries the test sets: cgroup id -> value (one CPU holds it) */
function counterObject(entries: Map<number, number>): BpfObject {
  const info: MapInfo = { name: 'c', type: 'percpu_hash', keySize: 16, valueSize: 8, maxEntries: 16, percpu: true, flags: 1 };
  return {
    mapInfo: () => info,
    layout: () => KEY,
    readMap: (): MapBatch => {
      const keys = Buffer.alloc(16 * entries.size);
      const values = Buffer.alloc(16 * entries.size);
      [...entries].forEach(([cg, v], i) => {
        keys.writeBigUInt64LE(BigInt(cg), i * 16);
        values.writeBigUInt64LE(BigInt(v), i * 16);
      });
      return { count: entries.size, keys, values, valueStride: 16 };
    },
  } as unknown as BpfObject;
}

test('an entry deleted and made again (cgroup sweep) starts over: never a negative delta, a new start time', async () => {
  const entries = new Map([[7, 10]]);
  const object = counterObject(entries);
  const metrics = [{ type: 'counter' as const, map: 'c', metric: { name: 'test.count', unit: '{x}', description: 'd' } }];
  const cgroups = new CgroupResolver(undefined);
  const start = hrTime();
  const delta = new KernelMetricProducer(() => [{ family: 'test', object, metrics }], cgroups, AggregationTemporality.DELTA, start);
  const cumulative = new KernelMetricProducer(
    () => [{ family: 'test', object, metrics }],
    cgroups,
    AggregationTemporality.CUMULATIVE,
    start,
  );
  const read = async (p: KernelMetricProducer) => {
    const m = (await p.collect()).resourceMetrics.scopeMetrics[0].metrics[0] as SumMetricData;
    return m.dataPoints.map((d) => ({ value: d.value, start: d.startTime, end: d.endTime, cg: d.attributes['cgroup.id'] }));
  };
  const [d1, c1] = [await read(delta), await read(cumulative)];
  assert.deepEqual([d1[0].value, c1[0].value], [10, 10]);
  assert.deepEqual(c1[0].start, start);
  entries.set(7, 3); // swept, then 3 more
  entries.set(8, 2); // a cgroup that appeared since
  await new Promise((r) => setTimeout(r, 5));
  const [d2, c2] = [await read(delta), await read(cumulative)];
  assert.deepEqual(
    d2.map((p) => [p.cg, p.value]),
    [
      [7, 3],
      [8, 2],
    ],
    'the reset entry exports what it holds, not 3 - 10',
  );
  assert.deepEqual(d2[0].start, d1[0].end, 'delta from the previous collection');
  assert.deepEqual(
    c2.map((p) => [p.cg, p.value]),
    [
      [7, 3],
      [8, 2],
    ],
  );
  assert.deepEqual(c2[0].start, c1[0].end, 'the cumulative series started over after the last collection');
  assert.deepEqual(c2[1].start, c1[0].end, 'a new series counts from the collection before it appeared');
  entries.set(7, 5);
  entries.delete(8);
  const [d3, c3] = [await read(delta), await read(cumulative)];
  assert.deepEqual(
    d3.map((p) => [p.cg, p.value]),
    [[7, 2]],
  );
  assert.deepEqual(c3[0].start, c2[0].start, 'the same series keeps its start');
  // cgroup 8's entry is gone: it is forgotten, and if it comes back it starts over
  entries.set(8, 1);
  const d4 = await read(delta);
  assert.deepEqual(
    d4.map((p) => [p.cg, p.value]),
    [
      [7, 0],
      [8, 1],
    ],
  );
});
