import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as os from 'node:os';
import { loadConfig, type KotelConfig } from '../../agent/src/config';
import { createTelemetry, type Telemetry } from '../../agent/src/otel/telemetry';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlpReceiver';
import { AggregationTemporality, STUB_BOUNDS, STUB_COUNTS, stubFactory } from '../helpers/stubProducer';
import { captureLogger } from '../helpers/captureLogger';

function config(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): KotelConfig {
  return loadConfig({
    env,
    flags: {
      'prometheus.enabled': false,
      'console.enabled': false,
      'metrics.interval': 60000, // exports are driven by forceFlush()
      ...flags,
    },
  });
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function exportRoundTrip(protocol: 'grpc' | 'http/protobuf'): Promise<void> {
  const rx = await startOtlpReceiver();
  let tel: Telemetry | undefined;
  try {
    const endpoint = protocol === 'grpc' ? `127.0.0.1:${rx.grpcPort}` : `http://127.0.0.1:${rx.httpPort}`;
    const { logger } = captureLogger();
    const stub = stubFactory();
    const results: Array<{ signal: string; ok: boolean; items: number }> = [];
    tel = createTelemetry(config({ 'otlp.endpoint': endpoint, 'otlp.protocol': protocol }, { OTEL_RESOURCE_ATTRIBUTES: 'rack=r%2F1' }), {
      producerFor: stub.producerFor,
      logger,
      onExportResult: (signal, ok, items) => results.push({ signal, ok, items }),
    });
    assert.equal(stub.built.length, 2, 'one producer per reader (the OTLP reader and the report reader here)');
    assert.equal(stub.built[0].temporality, AggregationTemporality.CUMULATIVE);

    tel.meterProvider.getMeter('kotel.test').createCounter('test.events', { unit: '{event}', description: 'events' }).add(3, { kind: 'a' });
    const span = tel.tracerProvider.getTracer('kotel.test').startSpan('tcp.connection', {
      attributes: { 'network.peer.port': 443, 'network.transport': 'tcp' },
    });
    span.addEvent('closed', { 'tcp.retransmits': 2 });
    span.end();
    await tel.forceFlush();

    const via = protocol === 'grpc' ? 'grpc' : 'http';
    const points = await rx.waitFor(() => (rx.metrics().length >= 3 ? rx.metrics() : undefined), 5000, 'metrics');
    for (const p of points) assert.equal(p.via, via);

    const retrans = points.find((p) => p.name === 'tcp.retransmits');
    assert.ok(retrans, 'stub sum exported');
    assert.equal(retrans.kind, 'sum');
    assert.equal(retrans.monotonic, true);
    assert.equal(retrans.temporality, 'cumulative');
    assert.equal(retrans.unit, '{segment}');
    assert.equal(retrans.value, 42);
    assert.deepEqual(retrans.attributes, { 'cgroup.path': '/system.slice/demo.service', 'cgroup.id': 1234 });

    const rtt = points.find((p) => p.name === 'tcp.rtt');
    assert.ok(rtt, 'stub histogram exported');
    assert.equal(rtt.kind, 'histogram');
    assert.equal(rtt.unit, 's');
    assert.deepEqual(rtt.bounds, STUB_BOUNDS);
    assert.deepEqual(rtt.counts, STUB_COUNTS);
    assert.equal(rtt.count, 100);
    assert.equal(rtt.sum, 5.5);

    const events = points.find((p) => p.name === 'test.events');
    assert.ok(events, 'SDK counter exported');
    assert.equal(events.value, 3);
    assert.deepEqual(events.attributes, { kind: 'a' });
    assert.equal(events.unit, '{event}');

    const res = rx.resources().find((r) => r.signal === 'metrics');
    assert.ok(res);
    assert.equal(res.attributes['service.name'], 'kotel');
    assert.equal(res.attributes['host.name'], os.hostname());
    assert.equal(res.attributes['os.type'], 'linux');
    assert.equal(res.attributes['process.pid'], process.pid);
    assert.equal(res.attributes['rack'], 'r/1', 'resource.attributes values are percent-decoded');
    assert.match(String(res.attributes['service.instance.id']), /^[0-9a-f-]{36}$/);
    assert.equal(typeof res.attributes['service.version'], 'string');

    const spans = await rx.waitFor(() => (rx.spans().length ? rx.spans() : undefined), 5000, 'spans');
    assert.equal(spans[0].name, 'tcp.connection');
    assert.equal(spans[0].attributes['network.peer.port'], 443);
    assert.equal(spans[0].attributes['network.transport'], 'tcp');
    assert.deepEqual(spans[0].events, [{ name: 'closed', attributes: { 'tcp.retransmits': 2 } }]);
    assert.match(spans[0].traceId, /^[0-9a-f]{32}$/);
    assert.ok(spans[0].endTimeUnixNano >= spans[0].startTimeUnixNano);
    assert.equal(rx.resources().find((r) => r.signal === 'traces')?.attributes['service.name'], 'kotel');

    assert.ok(
      results.some((r) => r.signal === 'metrics' && r.ok && r.items === 3),
      JSON.stringify(results),
    );
    assert.ok(
      results.some((r) => r.signal === 'traces' && r.ok && r.items === 1),
      JSON.stringify(results),
    );
  } finally {
    await tel?.shutdown();
    await rx.close();
  }
}

test('exports kernel-producer data, SDK metrics and spans over OTLP/gRPC', () => exportRoundTrip('grpc'));

test('exports kernel-producer data, SDK metrics and spans over OTLP/HTTP protobuf', () => exportRoundTrip('http/protobuf'));

test("temporality 'delta': the producer is built for DELTA and sums arrive as delta", async () => {
  const rx = await startOtlpReceiver();
  const { logger } = captureLogger();
  const stub = stubFactory();
  const tel = createTelemetry(
    config(
      { 'otlp.endpoint': `127.0.0.1:${rx.grpcPort}`, 'otlp.traces': false },
      { OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'delta' },
    ),
    { producerFor: stub.producerFor, logger },
  );
  try {
    assert.deepEqual(
      stub.built.map((p) => p.temporality),
      [AggregationTemporality.DELTA, AggregationTemporality.CUMULATIVE],
      'OTLP, the report',
    );
    tel.meterProvider.getMeter('t').createCounter('test.delta').add(1);
    await tel.forceFlush();
    const pts = await rx.waitFor(() => (rx.metrics().length >= 3 ? rx.metrics() : undefined), 5000, 'metrics');
    assert.equal(pts.find((p) => p.name === 'test.delta')?.temporality, 'delta');
    assert.equal(pts.find((p) => p.name === 'tcp.retransmits')?.temporality, 'delta');
  } finally {
    await tel.shutdown();
    await rx.close();
  }
});

test('each reader gets the histograms it serves: OTLP metrics.histogramAggregation, Prometheus classic, the console exponential', async () => {
  const { logger } = captureLogger();
  for (const aggregation of ['exponential', 'explicit'] as const) {
    const asked: string[] = [];
    const tel = createTelemetry(
      config({
        'metrics.histogramAggregation': aggregation,
        'prometheus.enabled': true,
        'prometheus.port': await freePort(),
        'console.enabled': true,
      }),
      { producerFor: (_t, histograms) => (asked.push(histograms), undefined), logger, consoleWrite: () => undefined },
    );
    assert.deepEqual(asked, [aggregation, 'explicit', 'exponential', 'exponential'], 'OTLP, Prometheus, console, the report');
    await tel.shutdown();
  }
});

test('sdk.disabled: no reader, no producer, instruments are no-ops', async () => {
  const { logger } = captureLogger();
  const stub = stubFactory();
  const tel = createTelemetry(config({}, { OTEL_SDK_DISABLED: 'true' }), { producerFor: stub.producerFor, logger });
  assert.equal(stub.built.length, 0);
  tel.meterProvider.getMeter('t').createCounter('x').add(1);
  tel.tracerProvider.getTracer('t').startSpan('s').end();
  await tel.forceFlush();
  await tel.shutdown();
  await tel.shutdown(); // idempotent
});

for (const protocol of ['grpc', 'http/protobuf'] as const) {
  test(`unreachable collector (${protocol}): warns once, never throws, logs the recovery`, async () => {
    const port = await freePort();
    const endpoint = protocol === 'grpc' ? `127.0.0.1:${port}` : `http://127.0.0.1:${port}`;
    const { logger, lines } = captureLogger('debug');
    const stub = stubFactory();
    const results: Array<{ ok: boolean; items: number; error?: Error }> = [];
    const tel = createTelemetry(config({ 'otlp.endpoint': endpoint, 'otlp.protocol': protocol, 'otlp.timeout': 300 }), {
      producerFor: stub.producerFor,
      logger,
      onExportResult: (_s, ok, items, error) => results.push({ ok, items, error }),
    });
    let rx: OtlpReceiver | undefined;
    try {
      tel.tracerProvider.getTracer('t').startSpan('lost').end();
      for (let i = 0; i < 3; i++) await tel.forceFlush();
      const unreachable = lines.filter((l) => /unreachable/.test(l.msg));
      assert.equal(unreachable.length, 1, JSON.stringify(lines));
      assert.equal(unreachable[0].level, 'warn');
      const label = protocol === 'grpc' ? `127.0.0.1:${port} (grpc)` : `http://127.0.0.1:${port} (http/protobuf)`;
      assert.ok(unreachable[0].msg.startsWith(`OTLP collector at ${label} unreachable: `), unreachable[0].msg);
      assert.match(unreachable[0].msg, /; retrying every 60s \(set otlp\.endpoint or --no-otlp\)$/);
      assert.ok(!lines.some((l) => l.level === 'error'), 'no error lines: ' + JSON.stringify(lines));
      // 3 metric exports of 2 points, 1 span export of 1 span, all failed and reported
      assert.equal(results.filter((r) => !r.ok).length, 4, JSON.stringify(results));
      assert.equal(results.filter((r) => r.items === 2).length, 3);
      assert.ok(results.every((r) => r.error instanceof Error));
      if (protocol === 'grpc') assert.match(unreachable[0].msg, /unreachable: connect ECONNREFUSED 127\.0\.0\.1:\d+ \(gRPC UNAVAILABLE\);/);

      rx = await startOtlpReceiver(protocol === 'grpc' ? { grpcPort: port } : { httpPort: port });
      const receiver = rx;
      await rx.waitFor(
        () => {
          void tel.forceFlush();
          return lines.some((l) => /recovered/.test(l.msg)) || undefined;
        },
        20000,
        'the recovery line',
      );
      const recovered = lines.filter((l) => /recovered/.test(l.msg));
      assert.equal(recovered.length, 1);
      assert.equal(recovered[0].level, 'info');
      const target = protocol === 'grpc' ? `127.0.0.1:${port}` : `http://127.0.0.1:${port}`;
      assert.ok(recovered[0].msg.startsWith(`OTLP export to ${target} recovered`), recovered[0].msg);
      await receiver.waitFor(() => receiver.metrics().some((p) => p.name === 'tcp.retransmits') || undefined, 5000, 'data');
      assert.equal(lines.filter((l) => /unreachable/.test(l.msg)).length, 1);
    } finally {
      await tel.shutdown();
      await rx?.close();
    }
  });
}
