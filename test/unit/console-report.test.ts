import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { ConsoleReportReader, REPORT_WIDTH } from '../../agent/src/otel/ConsoleReportReader';
import { explicitBucketQuantile, exponentialQuantile } from '../../agent/src/otel/percentile';
import { formatSeconds } from '../../agent/src/otel/format';
import { AggregationTemporality, StubProducer } from '../helpers/stubProducer';

function setup(maxRowsPerMetric?: number) {
  let clock = 1_700_000_000_000;
  const stub = new StubProducer(AggregationTemporality.CUMULATIVE);
  const written: string[] = [];
  const reader = new ConsoleReportReader({
    intervalMillis: 5000,
    metricProducers: [stub],
    write: (b) => written.push(b),
    now: () => clock,
    maxRowsPerMetric,
  });
  const provider = new MeterProvider({ readers: [reader] });
  return { reader, provider, stub, written, advance: (ms: number) => (clock += ms) };
}

test('percentiles from explicit buckets: linear interpolation inside the bucket', () => {
  // bounds 1ms, 10ms, 100ms; counts 10, 20, 60, 10 (total 100)
  const b = [0.001, 0.01, 0.1];
  const c = [10, 20, 60, 10];
  // p50: rank 50; 10 + 20 = 30 below 10ms, so 20 of the 60 in (10ms, 100ms]: 10ms + 90ms * 20/60 = 40ms
  assert.ok(Math.abs(explicitBucketQuantile(0.5, b, c)! - 0.04) < 1e-12);
  // p90: rank 90 = the top of the third bucket
  assert.ok(Math.abs(explicitBucketQuantile(0.9, b, c)! - 0.1) < 1e-12);
  // p99: rank 99 in the open bucket (100ms, max=400ms]: 100ms + 300ms * 9/10 = 370ms
  assert.ok(Math.abs(explicitBucketQuantile(0.99, b, c, 0.0002, 0.4)! - 0.37) < 1e-12);
  // p5 in the first bucket, from 0: 1ms * 5/10
  assert.ok(Math.abs(explicitBucketQuantile(0.05, b, c)! - 0.0005) < 1e-12);
  assert.equal(explicitBucketQuantile(0.5, b, [0, 0, 0, 0]), undefined);
  // exponential, scale 0 (base 2): buckets (1,2], (2,4], (4,8] with 1, 2, 1
  assert.equal(exponentialQuantile(0.5, { scale: 0, zeroCount: 0, positive: { offset: 0, bucketCounts: [1, 2, 1] } }), 3);
});

test('durations print with units', () => {
  assert.equal(formatSeconds(0.04), '40.0ms');
  assert.equal(formatSeconds(0.0000032), '3.20µs');
  assert.equal(formatSeconds(4.1e-7), '410ns');
  assert.equal(formatSeconds(1.5), '1.50s');
});

test('a block: header, counter value and rate, histogram count/rate/mean/percentiles', async () => {
  const { reader, provider, stub, advance } = setup();
  const counter = provider.getMeter('kotel.test').createCounter('test.connections', { unit: '{connection}' });
  const gauge = provider.getMeter('kotel.test').createUpDownCounter('test.open', { unit: '{socket}' });
  counter.add(100, { 'container.id': 'abcdef0123456789abcdef', 'network.transport': 'tcp' });
  gauge.add(7);

  await reader.report(); // first block: remembers the values
  advance(5000);
  counter.add(50, { 'container.id': 'abcdef0123456789abcdef', 'network.transport': 'tcp' });
  stub.retransmits += 100;
  const block = await reader.report();

  const lines = block.trimEnd().split('\n');
  assert.match(lines[0], /kotel .* every 5\.0s \(5\.0s since last\) .* 4 metrics/);
  for (const l of lines) assert.ok(l.length <= REPORT_WIDTH, `line longer than ${REPORT_WIDTH}: "${l}"`);
  for (const name of ['test.connections', 'test.open', 'tcp.retransmits', 'tcp.rtt']) {
    assert.ok(
      lines.some((l) => l.startsWith(name)),
      `${name} in\n${block}`,
    );
  }
  const row = (metric: string) => {
    const i = lines.findIndex((l) => l.startsWith(metric));
    return lines[i + 2].trim().split(/\s+/);
  };
  // counter: value 150, 50 more in 5 s = 10/s; container id shortened to 12 characters
  assert.deepEqual(row('test.connections'), ['ctr:abcdef012345', 'transport=tcp', '150', '10']);
  assert.deepEqual(row('test.open'), ['(all)', '7']);
  // kernel counter: 42 → 142 in 5 s
  assert.deepEqual(row('tcp.retransmits'), ['/system.slice/demo.service', '142', '20']);
  // histogram header and row: count, rate (no new samples), mean 5.5s/100, p50 40ms, p90 100ms, p99 370ms
  const h = lines.findIndex((l) => l.startsWith('tcp.rtt'));
  assert.deepEqual(lines[h + 1].trim().split(/\s+/), ['count', 'rate/s', 'mean', 'p50', 'p90', 'p99']);
  assert.deepEqual(row('tcp.rtt'), ['/system.slice/demo.service', '100', '0', '55.0ms', '40.0ms', '100ms', '370ms']);
  await provider.shutdown();
});

test('at most N rows per metric, then "… and K more"', async () => {
  const { reader, provider } = setup(5);
  const counter = provider.getMeter('kotel.test').createCounter('test.many');
  for (let i = 0; i < 12; i++) counter.add(i + 1, { 'cgroup.path': `/kubepods/pod${i}` });
  const block = await reader.report();
  const lines = block.split('\n');
  const start = lines.findIndex((l) => l.startsWith('test.many'));
  const rows = lines.slice(start + 2, start + 8);
  assert.equal(rows.length, 6);
  assert.match(rows[0], /\/kubepods\/pod11\s+12\b/, 'largest first');
  assert.equal(rows[5].trim(), '… and 7 more');
  await provider.shutdown();
});

test('the timer writes one block per interval to the given writer', async () => {
  const written: string[] = [];
  const reader = new ConsoleReportReader({ intervalMillis: 50, write: (b) => written.push(b) });
  const provider = new MeterProvider({ readers: [reader] });
  provider.getMeter('t').createCounter('test.tick').add(1);
  await new Promise((r) => setTimeout(r, 180));
  await provider.shutdown();
  assert.ok(written.length >= 2, `blocks written: ${written.length}`);
  assert.ok(written.every((b) => b.includes('test.tick') && b.endsWith('\n\n')));
});
