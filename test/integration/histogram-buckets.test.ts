// The kernel's histogram slots on the running kernel: values at and next to every bucket bound, written into
// a real kotel histogram by a BPF program (test/fixtures/bpf/hist_values.bpf.c: ftruncate's length through
// kotel_hist_add) at every scale, loaded with the agent's knobs and map sizes, read back by the agent's
// KernelMetricProducer: each value counts in the OTel exponential bucket the data model defines for its
// value in seconds (decided with exact BigInt arithmetic), and in the classic bucket its seconds say.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hrTime } from '@opentelemetry/core';
import { AggregationTemporality, type ExponentialHistogramMetricData, type HistogramMetricData } from '@opentelemetry/sdk-metrics';
import { BpfObject } from '../../agent/src/native';
import { CgroupResolver } from '../../agent/src/host/cgroups';
import { MAX_SCALE, otelIndex, scaleLayout } from '../../agent/src/kernel/exponentialBuckets';
import { KernelMetricProducer } from '../../agent/src/otel/KernelMetricProducer';
import { FIXTURE_DIR, notRoot } from '../helpers/addonFixture';
import { boundaryValues } from '../helpers/histogramSlots';
import { bucketOf } from '../helpers/points';
import { tool } from '../helpers/tools';

const OBJECT = path.join(FIXTURE_DIR, '.output', 'hist_values.bpf.o');
const CLASSIC = { from: 1e-6, to: 64, fine: [1e-5, 0.1] as [number, number] };

describe('kernel histogram buckets on the running kernel (root)', { skip: notRoot }, () => {
  let dir: string;
  let fd: number;

  before(() => {
    execFileSync(tool('make'), ['-s', '-C', FIXTURE_DIR]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-hist-'));
    // read-only: every ftruncate fails (EINVAL) after the tracepoint saw its length
    fs.writeFileSync(path.join(dir, 'f'), '');
    fd = fs.openSync(path.join(dir, 'f'), 'r');
  });

  after(() => {
    if (fd !== undefined) fs.closeSync(fd);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  for (let scale = 0; scale <= MAX_SCALE; scale++) {
    test(`scale ${scale}: every value at and next to every bound lands in its OTel bucket`, async () => {
      const layout = scaleLayout(scale);
      const object = BpfObject.open(OBJECT, {
        rodata: { targ_tgid: process.pid, ...layout.knobs },
        valueSize: { values_hist: layout.valueSize },
        ladders: { values: [{ program: 'record_value', kind: 'raw_tp' }] },
      });
      try {
        assert.ok(object.attachments[0].attached, JSON.stringify(object.attachments[0].failures));
        const values = boundaryValues(scale);
        values.push(0n, 0n);
        for (const v of values) {
          try {
            fs.ftruncateSync(fd, Number(v));
          } catch {
            // EINVAL: a read-only descriptor
          }
        }
        const metrics = [
          { type: 'histogram' as const, map: 'values_hist', metric: { name: 'v', unit: 's', description: '' }, classic: CLASSIC },
        ];
        const read = async (aggregation: 'exponential' | 'explicit') => {
          const producer = new KernelMetricProducer(
            () => [{ family: 'test', object, metrics }],
            new CgroupResolver(undefined),
            AggregationTemporality.CUMULATIVE,
            hrTime(),
            { layout, aggregation },
          );
          return (await producer.collect()).resourceMetrics.scopeMetrics[0].metrics[0];
        };

        const exp = ((await read('exponential')) as ExponentialHistogramMetricData).dataPoints[0].value;
        assert.equal(exp.scale, scale);
        assert.equal(exp.count, values.length, 'every value counted once');
        assert.equal(exp.zeroCount, 2);
        // the u64 sum reaches doubles past 2^53 ns here: exact to their precision
        const sum = Number(values.reduce((a, b) => a + b, 0n)) / 1e9;
        assert.ok(Math.abs(exp.sum! - sum) <= sum * 1e-15, `sum ${exp.sum} s, the values' ${sum} s`);
        const want = new Map<number, number>();
        for (const v of values) if (v > 0n) want.set(otelIndex(scale, v), (want.get(otelIndex(scale, v)) ?? 0) + 1);
        const got = new Map<number, number>();
        exp.positive.bucketCounts.forEach((c, j) => c && got.set(exp.positive.offset + j, c));
        const wrong = [...new Set([...want.keys(), ...got.keys()])].filter((i) => want.get(i) !== got.get(i));
        assert.deepEqual(
          wrong.map((i) => [i, got.get(i) ?? 0, want.get(i) ?? 0]),
          [],
          `buckets [index, kernel, data model] that differ, of ${want.size}`,
        );

        const classic = ((await read('explicit')) as HistogramMetricData).dataPoints[0].value;
        const wantClassic = new Array(classic.buckets.boundaries.length + 1).fill(0);
        for (const v of values) wantClassic[bucketOf(classic.buckets.boundaries, Number(v) / 1e9)]++;
        assert.deepEqual(classic.buckets.counts, wantClassic);
      } finally {
        object.close();
      }
    });
  }
});
