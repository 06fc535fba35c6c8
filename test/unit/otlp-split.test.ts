// Collections larger than one OTLP request may be: split into requests of at most otlp.maxRequestBytes (an
// estimate from above), through the real gRPC exporter to a receiver with gRPC's (and the Collector's)
// default 4 MiB request limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataPointType, AggregationTemporality, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { emptyResource } from '@opentelemetry/resources';
import { ValueType } from '@opentelemetry/api';
import { loadConfig } from '../../agent/src/config';
import { createTelemetry } from '../../agent/src/otel/telemetry';
import { pointBytes, splitResourceMetrics } from '../../agent/src/otel/splitExport';
import { startOtlpReceiver } from '../helpers/otlpReceiver';
import { stubFactory } from '../helpers/stubProducer';
import { captureLogger } from '../helpers/captureLogger';

function sum(name: string, points: number): MetricData {
  return {
    descriptor: { name, description: '', unit: '1', valueType: ValueType.INT },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: Array.from({ length: points }, (_, i) => ({ startTime: [0, 0], endTime: [1, 0], attributes: { i }, value: i })),
  };
}

test('splitResourceMetrics: parts of at most maxBytes, every point once and in order, descriptors kept', () => {
  const scopeA = { name: 'a' };
  const scopeB = { name: 'b' };
  const rm: ResourceMetrics = {
    resource: emptyResource(),
    scopeMetrics: [
      { scope: scopeA, metrics: [sum('x', 2500), sum('y', 10)] },
      { scope: scopeB, metrics: [sum('z', 1200)] },
    ],
  };
  const per = pointBytes(rm.scopeMetrics[0].metrics[0].dataPoints[0]);
  const maxBytes = 1000 * per;
  const parts = splitResourceMetrics(rm, maxBytes);
  assert.ok(parts.length >= 4 && parts.length <= 5, `${parts.length} parts`);
  for (const p of parts) {
    const bytes = p.scopeMetrics.flatMap((s) => s.metrics).reduce((n, m) => n + m.dataPoints.reduce((a, d) => a + pointBytes(d), 0), 0);
    assert.ok(bytes <= maxBytes, `a part of ${bytes} estimated bytes, at most ${maxBytes}`);
  }
  const flat = parts.flatMap((p) =>
    p.scopeMetrics.flatMap((s) => s.metrics.flatMap((m) => m.dataPoints.map((d) => `${s.scope.name}/${m.descriptor.name}/${d.value}`))),
  );
  const want = rm.scopeMetrics.flatMap((s) =>
    s.metrics.flatMap((m) => m.dataPoints.map((d) => `${s.scope.name}/${m.descriptor.name}/${d.value}`)),
  );
  assert.deepEqual(flat, want);
  for (const p of parts) {
    assert.equal(p.resource, rm.resource);
    for (const s of p.scopeMetrics)
      for (const m of s.metrics)
        assert.equal(
          m.descriptor,
          rm.scopeMetrics.flatMap((x) => x.metrics).find((o) => o.descriptor.name === m.descriptor.name)!.descriptor,
        );
  }
  assert.equal(splitResourceMetrics(rm, 1 << 30).length, 1, 'under the limit: one request');
  assert.equal(
    splitResourceMetrics({ resource: emptyResource(), scopeMetrics: [] }, 1 << 20).length,
    1,
    'an empty collection is one request',
  );
});

test('pointBytes grows with attributes and buckets (a 768-bucket histogram counts ~4 KB)', () => {
  const base = { startTime: [0, 0] as [number, number], endTime: [1, 0] as [number, number], attributes: {} };
  const exp = (buckets: number) => ({
    ...base,
    value: {
      count: 1,
      sum: 1,
      scale: 4,
      zeroCount: 0,
      positive: { offset: 0, bucketCounts: new Array(buckets).fill(1) },
      negative: { offset: 0, bucketCounts: [] },
    },
  });
  assert.ok(pointBytes(exp(768)) >= 768 * 5);
  assert.ok(pointBytes({ ...base, attributes: { 'container.id': 'f'.repeat(64) }, value: 1 }) > pointBytes({ ...base, value: 1 }) + 64);
});

async function exportSeries(maxRequestBytes: number) {
  const rx = await startOtlpReceiver();
  const results: { ok: boolean; items: number }[] = [];
  const { logger } = captureLogger();
  const tel = createTelemetry(
    loadConfig({
      flags: {
        'prometheus.enabled': false,
        'console.enabled': false,
        'metrics.interval': 60000,
        'otlp.endpoint': `127.0.0.1:${rx.grpcPort}`,
        'otlp.maxRequestBytes': maxRequestBytes,
      },
    }),
    {
      producerFor: stubFactory().producerFor,
      logger,
      onExportResult: (signal, ok, items) => signal === 'metrics' && results.push({ ok, items }),
    },
  );
  // 30 counters x 1500 series (under the SDK's cardinality limit) with a container id each: ~5 MB of OTLP
  const meter = tel.meterProvider.getMeter('kotel.test');
  for (let c = 0; c < 30; c++) {
    const counter = meter.createCounter(`test.split.c${c}`);
    for (let i = 0; i < 1500; i++) counter.add(1, { 'container.id': `${c}-${i}`.padEnd(64, 'f') });
  }
  await tel.forceFlush();
  const received = rx.metrics().filter((p) => p.name.startsWith('test.split.')).length;
  await tel.shutdown();
  await rx.close();
  return { results, received };
}

test('45 000 series over gRPC: one request is refused at 4 MiB; requests of 3 MiB (estimated) all arrive', async () => {
  const whole = await exportSeries(1 << 30);
  assert.ok(
    whole.results.some((r) => !r.ok),
    `one request of every point fails: ${JSON.stringify(whole.results)}`,
  );
  assert.equal(whole.received, 0);
  const split = await exportSeries(3 << 20);
  assert.ok(split.results.length >= 2, `${split.results.length} requests`);
  assert.ok(
    split.results.every((r) => r.ok),
    'every request accepted',
  );
  assert.equal(split.received, 45_000);
});
