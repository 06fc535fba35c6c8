// Kernel histograms → OTel exponential and explicit-bucket histograms, through a real MeterProvider and an
// in-memory reader. The BPF object here is a stand-in (plain object with readMapNonzero/readMapSummed/mapInfo/layout) so the test
// runs without privileges; its layouts mirror bpf/kotel.h, and test/integration checks the real ones.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type ExponentialHistogramMetricData,
  type HistogramMetricData,
  type SumMetricData,
} from '@opentelemetry/sdk-metrics';
import { hrTime } from '@opentelemetry/core';
import { KernelMetricProducer, type HistogramForm } from '../../agent/src/otel/KernelMetricProducer';
import { classicBuckets, toExplicit, toExponential } from '../../agent/src/otel/histogram';
import { otelIndex, scaleLayout } from '../../agent/src/kernel/exponentialBuckets';
import { CgroupResolver } from '../../agent/src/host/cgroups';
import type { BpfObject, MapBatch, MapInfo } from '../../agent/src/native';
import { bucketOf } from '../helpers/points';
import { summedBatch } from '../helpers/summedBatch';
import { KEY, kernelSlots, standInObject } from '../helpers/standInHistogram';
import { boundaryValues, kernelSlotOf } from '../helpers/histogramSlots';

const LAYOUT = scaleLayout(4);
const SLOTS = LAYOUT.slots;
const EXPONENTIAL: HistogramForm = { layout: LAYOUT, aggregation: 'exponential' };
const RANGE = { from: 1e-6, to: 64, fine: [1e-5, 0.1] as [number, number] };

/** kernel slots holding `values` (ns), as the kernel would count them */
function slotsOf(values: bigint[]): Float64Array {
  const slots = new Float64Array(SLOTS);
  for (const v of values) slots[kernelSlotOf(v, LAYOUT)]++;
  return slots;
}

test('exponential: each kernel slot is the OTel bucket of its values, zeros in the zero count', () => {
  const values = [0n, 0n, 1500n, 1501n, 1_000_000n, 1_000_000_001n];
  const h = toExponential(kernelSlots(slotsOf(values), 42)!, LAYOUT);
  assert.equal(h.scale, 4);
  assert.equal(h.zeroCount, 2);
  assert.equal(h.count, 6);
  assert.equal(h.sum, 42e-9);
  const counted = new Map<number, number>();
  h.positive.bucketCounts.forEach((c, j) => c && counted.set(h.positive.offset + j, c));
  const want = new Map<number, number>();
  for (const v of values.filter((x) => x > 0n)) want.set(otelIndex(4, v), (want.get(otelIndex(4, v)) ?? 0) + 1);
  assert.deepEqual(counted, want);
  assert.equal(h.positive.bucketCounts[0], 2, 'trimmed to the first bucket in use: 1500 and 1501 ns share it');
});

test('classic buckets: bounds are kernel bucket edges, so every value counts where its seconds say', () => {
  const classic = classicBuckets(RANGE, LAYOUT);
  const b = classic.boundaries;
  assert.ok(b.includes(0.000976562), '2^-10 s as the largest integer ns below it');
  assert.equal(b[0], 0.000001907, 'the first power of two in seconds at or above 1 us: 2^-19 s');
  assert.equal(b.at(-1), 64);
  const perOctave = (lo: number, hi: number) => b.filter((x) => x > lo && x <= hi).length;
  assert.equal(perOctave(0.001953125, 0.00390625), 4, 'inside the fine range: 4 per power of two');
  assert.equal(perOctave(1, 2), 1, 'outside it: 1');
  for (const scale of [0, 2, 4]) {
    const layout = scaleLayout(scale);
    const c = classicBuckets(RANGE, layout);
    const values = boundaryValues(scale).filter((_, i) => i % 3 !== 2);
    const slots = new Float64Array(layout.slots);
    for (const v of values) slots[kernelSlotOf(v, layout)]++;
    const counts = toExplicit(kernelSlots(slots, 0)!, c).buckets.counts;
    const want = new Array(c.boundaries.length + 1).fill(0);
    for (const v of values) want[bucketOf(c.boundaries, Number(v) / 1e9)]++;
    assert.deepEqual(counts, want, `scale ${scale}`);
  }
});

test('a per-CPU kernel histogram exports through a real MeterProvider, exponential and explicit', async () => {
  const s = (ns: bigint) => kernelSlotOf(ns, LAYOUT);
  const object = standInObject(
    [
      { [s(20_000n)]: 3, [s(30_000n)]: 1 },
      { [s(30_000n)]: 4, [s(3_000_000n)]: 2 },
    ],
    [5_000_000, 7_000_000],
  );
  const metrics = [{ type: 'histogram' as const, map: 'h', metric: { name: 'test.latency', unit: 's', description: 'd' }, classic: RANGE }];
  for (const aggregation of ['exponential', 'explicit'] as const) {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const producer = new KernelMetricProducer(
      () => [{ family: 'test', object, metrics }],
      new CgroupResolver(undefined),
      AggregationTemporality.CUMULATIVE,
      hrTime(),
      { layout: LAYOUT, aggregation },
    );
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000, metricProducers: [producer] });
    const provider = new MeterProvider({ readers: [reader] });
    await reader.forceFlush();
    const m = exporter
      .getMetrics()
      .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
      .find((x) => x.descriptor.name === 'test.latency');
    assert.ok(m, 'test.latency exported');
    assert.equal(m.descriptor.unit, 's');
    if (aggregation === 'exponential') {
      assert.equal(m.dataPointType, DataPointType.EXPONENTIAL_HISTOGRAM);
      const dp = (m as ExponentialHistogramMetricData).dataPoints[0];
      assert.equal(dp.attributes['cgroup.id'], 4242);
      assert.equal(dp.value.count, 10);
      assert.equal(dp.value.sum, 0.012);
      const at = (ns: bigint) => dp.value.positive.bucketCounts[otelIndex(4, ns) - dp.value.positive.offset];
      assert.deepEqual([at(20_000n), at(30_000n), at(3_000_000n)], [3, 5, 2]);
    } else {
      assert.equal(m.dataPointType, DataPointType.HISTOGRAM);
      const dp = (m as HistogramMetricData).dataPoints[0];
      assert.equal(dp.value.count, 10);
      const bounds = dp.value.buckets.boundaries;
      const at = (sec: number) => dp.value.buckets.counts[bucketOf(bounds, sec)];
      assert.deepEqual([at(20e-6), at(30e-6), at(3e-3)], [3, 5, 2]);
    }
    await provider.shutdown();
  }
});

test("a histogram series is the sum of its chunks' entries, however the map interleaves them with other series'", async () => {
  const s = (ns: bigint) => kernelSlotOf(ns, LAYOUT);
  const object = standInObject([{ [s(1_000n)]: 1, [s(50_000n)]: 2, [s(9_000_000n)]: 3 }, { [s(50_000n)]: 4 }], [10, 20], [7, 8, 9]);
  const metrics = [{ type: 'histogram' as const, map: 'h', metric: { name: 'test.latency', unit: 's', description: 'd' }, classic: RANGE }];
  const producer = new KernelMetricProducer(
    () => [{ family: 'test', object, metrics }],
    new CgroupResolver(undefined),
    AggregationTemporality.CUMULATIVE,
    hrTime(),
    EXPONENTIAL,
  );
  const points = ((await producer.collect()).resourceMetrics.scopeMetrics[0].metrics[0] as ExponentialHistogramMetricData).dataPoints;
  assert.deepEqual(points.map((p) => p.attributes['cgroup.id']).sort(), [7, 8, 9]);
  for (const p of points) {
    const at = (ns: bigint) => p.value.positive.bucketCounts[otelIndex(4, ns) - p.value.positive.offset];
    assert.deepEqual(
      [p.value.count, p.value.sum, at(1_000n), at(50_000n), at(9_000_000n)],
      [10, 30e-9, 1, 6, 3],
      `cgroup ${p.attributes['cgroup.id']}`,
    );
  }
});

/** a producer of `temporality` over a stand-in histogram whose per-CPU slots and sums the test changes
 * between reads; read() gives the one point's count, sum and buckets by OTel index */
function changingHistogram(temporality: AggregationTemporality, perCpu: Record<number, number>[], sums: number[]) {
  const state = { perCpu, sums };
  const object = {
    ...standInObject(perCpu, sums),
    readMapNonzero: () => standInObject(state.perCpu, state.sums).readMapNonzero('h'),
  } as unknown as BpfObject;
  const metrics = [{ type: 'histogram' as const, map: 'h', metric: { name: 'test.latency', unit: 's', description: 'd' }, classic: RANGE }];
  const producer = new KernelMetricProducer(
    () => [{ family: 'test', object, metrics }],
    new CgroupResolver(undefined),
    temporality,
    hrTime(),
    EXPONENTIAL,
  );
  const read = async () => {
    const m = (await producer.collect()).resourceMetrics.scopeMetrics[0].metrics[0] as ExponentialHistogramMetricData;
    const v = m.dataPoints[0].value;
    const buckets = new Map<number, number>();
    v.positive.bucketCounts.forEach((c, j) => c && buckets.set(v.positive.offset + j, c));
    return { count: v.count, sum: v.sum, buckets };
  };
  return { state, read };
}

test('delta temporality of a histogram: the buckets and sum added since the last collection', async () => {
  const h = changingHistogram(AggregationTemporality.DELTA, [{ [kernelSlotOf(5000n, LAYOUT)]: 3 }, {}], [15_000, 0]);
  assert.deepEqual(await h.read(), { count: 3, sum: 15e-6, buckets: new Map([[otelIndex(4, 5000n), 3]]) });
  h.state.perCpu = [{ [kernelSlotOf(5000n, LAYOUT)]: 4 }, { [kernelSlotOf(90_000n, LAYOUT)]: 1 }];
  h.state.sums = [20_000, 90_000];
  assert.deepEqual(await h.read(), {
    count: 2,
    sum: 95e-6,
    buckets: new Map([
      [otelIndex(4, 5000n), 1],
      [otelIndex(4, 90_000n), 1],
    ]),
  });
});

for (const temporality of [AggregationTemporality.CUMULATIVE, AggregationTemporality.DELTA]) {
  const name = temporality === AggregationTemporality.DELTA ? 'delta' : 'cumulative';
  test(`${name}: an entry read again unchanged, then changed, then unchanged again`, async () => {
    const h = changingHistogram(temporality, [{ [kernelSlotOf(5000n, LAYOUT)]: 3 }, {}], [15_000, 0]);
    const a = { count: 3, sum: 15e-6, buckets: new Map([[otelIndex(4, 5000n), 3]]) };
    const none = { count: 0, sum: 0, buckets: new Map() };
    assert.deepEqual(await h.read(), a);
    assert.deepEqual(await h.read(), delta(a, none), 'unchanged');
    h.state.perCpu = [{ [kernelSlotOf(5000n, LAYOUT)]: 3 }, { [kernelSlotOf(90_000n, LAYOUT)]: 2 }];
    h.state.sums = [15_000, 180_000];
    const b = { count: 5, sum: 195e-6, buckets: new Map([...a.buckets, [otelIndex(4, 90_000n), 2]]) };
    assert.deepEqual(await h.read(), delta(b, { count: 2, sum: 180e-6, buckets: new Map([[otelIndex(4, 90_000n), 2]]) }), 'changed');
    assert.deepEqual(await h.read(), delta(b, none), 'unchanged again');
    function delta<T>(cumulative: T, added: T): T {
      return temporality === AggregationTemporality.DELTA ? added : cumulative;
    }
  });
}

test('delta temporality exports differences between collections', async () => {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.DELTA);
  let n = 5;
  const info: MapInfo = { name: 'c', type: 'percpu_hash', keySize: 16, valueSize: 8, maxEntries: 16, percpu: true, flags: 1 };
  const object = {
    mapInfo: () => info,
    layout: () => KEY,
    readMapSummed: (): MapBatch => summedBatch(info, read()),
  } as unknown as BpfObject;
  function read(): MapBatch {
    const keys = Buffer.alloc(16);
    keys.writeBigUInt64LE(7n, 0);
    keys.writeUInt32LE(2, 8);
    const values = Buffer.alloc(16);
    values.writeBigUInt64LE(BigInt(n), 0);
    values.writeBigUInt64LE(1n, 8);
    return { count: 1, keys, values, valueStride: 16 };
  }
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
    EXPONENTIAL,
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
    readMapSummed: (): MapBatch => summedBatch(info, read()),
  } as unknown as BpfObject;
  function read(): MapBatch {
    const keys = Buffer.alloc(16 * entries.size);
    const values = Buffer.alloc(16 * entries.size);
    [...entries].forEach(([cg, v], i) => {
      keys.writeBigUInt64LE(BigInt(cg), i * 16);
      values.writeBigUInt64LE(BigInt(v), i * 16);
    });
    return { count: entries.size, keys, values, valueStride: 16 };
  }
}

test("one metric from two families' maps: each series keeps its own attributes and values", async () => {
  const metric = { name: 'test.count', unit: '{x}', description: 'd' };
  const sourceOf = (family: string) => ({
    family,
    object: counterObject(new Map([[7, 3]])),
    metrics: [{ type: 'counter' as const, map: 'c', metric, kindAttributes: () => ({ source: family }) }],
  });
  // the same cgroup (one cached attributes object, as for a known cgroup) and the same value in both
  const cgroup = { 'cgroup.id': 7 };
  const resolver = { attributes: () => cgroup } as unknown as CgroupResolver;
  const producer = new KernelMetricProducer(
    () => [sourceOf('user'), sourceOf('kernel')],
    resolver,
    AggregationTemporality.CUMULATIVE,
    hrTime(),
    EXPONENTIAL,
  );
  for (let round = 0; round < 3; round++) {
    const metrics = (await producer.collect()).resourceMetrics.scopeMetrics[0].metrics as SumMetricData[];
    const points = metrics.flatMap((m) => m.dataPoints.map((p) => [p.attributes.source, p.value]));
    assert.deepEqual(
      points,
      [
        ['user', 3],
        ['kernel', 3],
      ],
      `collection ${round + 1}`,
    );
  }
});

test('an entry deleted and made again (cgroup sweep) starts over: never a negative delta, a new start time', async () => {
  const entries = new Map([[7, 10]]);
  const object = counterObject(entries);
  const metrics = [{ type: 'counter' as const, map: 'c', metric: { name: 'test.count', unit: '{x}', description: 'd' } }];
  const cgroups = new CgroupResolver(undefined);
  const start = hrTime();
  const delta = new KernelMetricProducer(
    () => [{ family: 'test', object, metrics }],
    cgroups,
    AggregationTemporality.DELTA,
    start,
    EXPONENTIAL,
  );
  const cumulative = new KernelMetricProducer(
    () => [{ family: 'test', object, metrics }],
    cgroups,
    AggregationTemporality.CUMULATIVE,
    start,
    EXPONENTIAL,
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
  // cgroup 8's entry is gone: it is forgotten, and if it comes back it starts over (4, not 4 - 2)
  entries.set(8, 4);
  const d4 = await read(delta);
  assert.deepEqual(
    d4.map((p) => [p.cg, p.value]),
    [
      [7, 0],
      [8, 4],
    ],
  );
});
