// Spans that find the span queue full are counted in kotel.events.dropped {kotel.family, span_queue_full}:
// a slow collector, many spans; the ground truth is what the real OTLP receiver got.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../agent/src/config';
import type { LoadResult } from '../../agent/src/probes/load';
import { spanFamily } from '../../agent/src/probes/registry';
import { createTelemetry, SPAN_MAX_QUEUE_SIZE } from '../../agent/src/otel/telemetry';
import { registerSelfMetrics } from '../../agent/src/self/selfMetrics';
import { UserDrops } from '../../agent/src/kernel/drops';
import { captureLogger } from '../helpers/captureLogger';
import { startOtlpReceiver } from '../helpers/otlpReceiver';

const SPANS = 10_000;

for (const protocol of ['grpc', 'http/protobuf'] as const) {
  test(`span queue full (${protocol}): kotel.events.dropped{tcp, span_queue_full} = spans made - spans received`, async () => {
    const rx = await startOtlpReceiver();
    const { logger } = captureLogger('info');
    const drops = new UserDrops();
    let self: ReturnType<typeof registerSelfMetrics> | undefined;
    // the agent's wiring (Agent.start)
    const tel = createTelemetry(
      loadConfig({
        env: {},
        flags: {
          'prometheus.enabled': false,
          'console.enabled': false,
          'metrics.interval': 600_000,
          'otlp.protocol': protocol,
          'otlp.endpoint': protocol === 'grpc' ? `127.0.0.1:${rx.grpcPort}` : `http://127.0.0.1:${rx.httpPort}`,
        },
      }),
      {
        producerFor: () => undefined,
        logger,
        onExportResult: (signal, ok, items) => self?.exportResult(signal, ok, items),
        onSpanDropped: (span) => drops.add(spanFamily(span.name, span.attributes), 'span_queue_full'),
      },
    );
    self = registerSelfMetrics(tel.meterProvider.getMeter('kotel'), { loaded: [], failed: [], disabled: [] } as LoadResult, drops);
    try {
      // a slow collector (answers within the 10 s export timeout): the queue cannot drain while spans come
      rx.behave({ delayMs: 1500 });
      const tracer = tel.tracerProvider.getTracer('kotel');
      for (let made = 0; made < SPANS;) {
        for (let i = 0; i < 500; i++, made++) tracer.startSpan('tcp.connection', { attributes: { 'network.peer.port': made } }).end();
        await new Promise((r) => setImmediate(r));
      }
      rx.behave({});
      await tel.tracerProvider.forceFlush();
      // the batch that was in flight when the flush began is answered up to 1.5 s later
      await new Promise((r) => setTimeout(r, 2500));
      await tel.meterProvider.forceFlush();

      const received = new Set(rx.spans().map((s) => s.attributes['network.peer.port'])).size;
      const dropped = (reason: string, family: string) =>
        rx
          .metrics()
          .filter(
            (p) =>
              p.name === 'kotel.events.dropped' && p.attributes['kotel.drop.reason'] === reason && p.attributes['kotel.family'] === family,
          )
          .map((p) => p.value!)
          .at(-1) ?? 0;
      console.log(`# ${protocol}: ${SPANS} spans made, ${received} received, span_queue_full ${dropped('span_queue_full', 'tcp')}`);
      assert.equal(rx.spans().length, received, 'no span received twice');
      assert.ok(received >= SPAN_MAX_QUEUE_SIZE, `at least a full queue delivered: ${received}`);
      assert.equal(dropped('span_queue_full', 'tcp'), SPANS - received);
      assert.equal(dropped('export_failed', 'otlp'), 0, 'the final flush of a full queue is delivered whole');
    } finally {
      await tel.shutdown();
      await rx.close();
    }
  });
}
