// Per-stream span sampling through a real BasicTracerProvider: each family's spans kept at its ratio, the
// others counted by family, so exported + sampled out = every span started.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { StreamSampler } from '../../agent/src/otel/streamSampler';

const RATIOS: Record<string, { family: string; ratio: number }> = {
  'tcp.connection': { family: 'tcp', ratio: 0.25 },
  'lock.wait': { family: 'locks', ratio: 0 },
  'rdma.qp': { family: 'rdma', ratio: 1 },
};

test('each stream at its ratio; every span left out counted for its family', () => {
  const exporter = new InMemorySpanExporter();
  const sampler = new StreamSampler((name) => RATIOS[name]);
  const provider = new BasicTracerProvider({ sampler, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('test');
  const n = 10_000;
  for (const name of Object.keys(RATIOS)) for (let i = 0; i < n; i++) tracer.startSpan(name).end();
  const exported = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name).length;
  for (const [name, { family, ratio }] of Object.entries(RATIOS)) {
    assert.equal(exported(name) + (sampler.sampledOut.get(family) ?? 0), n, `${name}: exported + sampled out`);
    // 5 standard deviations of a binomial(n, ratio)
    const sd = Math.sqrt(n * ratio * (1 - ratio));
    assert.ok(Math.abs(exported(name) - n * ratio) <= 5 * sd, `${name}: ${exported(name)} of ${n} kept at ${ratio}`);
  }
  assert.equal(sampler.sampledOut.has('rdma'), false, 'ratio 1: nothing left out');
});
