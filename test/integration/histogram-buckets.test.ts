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
import { kernelDrops } from '../../agent/src/kernel/drops';
import { u32Words } from '../../agent/src/kernel/mapValues';
import { KernelMetricProducer } from '../../agent/src/otel/KernelMetricProducer';
import { FIXTURE_DIR, notRoot } from '../helpers/addonFixture';
import { boundaryValues } from '../helpers/histogramSlots';
import { bucketOf } from '../helpers/points';
import { nonzeroWords } from '../helpers/summedBatch';
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

  test('readMapSummed and readMapNonzero: 18 000 histogram entries summed over CPUs as readMap + JS would (several read chunks)', async (t) => {
    const layout = scaleLayout(MAX_SCALE);
    const FDS = 1500;
    const OCTAVES = 12;
    const object = BpfObject.open(OBJECT, {
      rodata: { targ_tgid: process.pid, ...layout.knobs },
      maxEntries: { values_hist: FDS * OCTAVES },
      ladders: { values: [{ program: 'record_value', kind: 'raw_tp' }] },
    });
    const fds: number[] = [];
    try {
      // one series per descriptor (kind = fd): a value in each of 12 octaves, so 12 entries (chunks) each
      for (let i = 0; i < FDS; i++) fds.push(fs.openSync(path.join(dir, 'f'), 'r'));
      let sent = 0;
      const truncate = (f: number, v: number) => {
        sent++;
        try {
          fs.ftruncateSync(f, v);
        } catch {
          // EINVAL: a read-only descriptor
        }
      };
      // i < 2^12: each value stays in its octave
      const valuesOf = (i: number) => Array.from({ length: OCTAVES }, (_, o) => 2 ** (o + 12) + i);
      const missingFds = () => {
        const b = object.readMap('values_hist');
        const entries = new Map<number, number>();
        for (let i = 0; i < b.count; i++)
          entries.set(b.keys.readUInt32LE(i * 16 + 8), (entries.get(b.keys.readUInt32LE(i * 16 + 8)) ?? 0) + 1);
        return fds.filter((f) => entries.get(f) !== OCTAVES);
      };
      for (const [i, f] of fds.entries()) for (const v of valuesOf(i)) truncate(f, v);
      // a burst of new per-CPU entries can outrun the BPF allocator's per-CPU caches: each entry it could
      // not make is a no_memory drop, and that value is lost
      let missing = missingFds();
      const dropped = (reason: string) => kernelDrops(object, 'values_drops').find((d) => d.reason === reason)?.n ?? 0;
      const firstPass = dropped('no_memory');
      t.diagnostic(`${missing.length} of ${fds.length} series missed entries in the burst, ${firstPass} no_memory drops`);
      assert.equal(dropped('map_full'), 0);
      assert.ok(firstPass >= missing.length, `${missing.length} series short of entries, ${firstPass} no_memory drops`);
      // the series the burst left short, written again slowly (the caches refill)
      for (let tries = 0; missing.length > 0 && tries < 100; tries++) {
        for (const f of missing) for (const v of valuesOf(fds.indexOf(f))) truncate(f, v);
        await new Promise((r) => setTimeout(r, 10));
        missing = missingFds();
      }
      assert.deepEqual(missing, [], 'every descriptor has its 12 entries');
      const raw = object.readMap('values_hist');
      const summed = object.readMapSummed('values_hist');
      const info = object.mapInfo('values_hist');
      const chunk = Math.ceil(info.valueSize / 8) * 8;
      assert.equal(summed.count, FDS * OCTAVES);
      assert.equal(raw.count, FDS * OCTAVES);
      assert.equal(summed.valueStride, chunk);
      assert.ok(raw.count * raw.valueStride > 4 << 20, 'the per-CPU values span more than one 4 MB read chunk');
      const want = new Map<string, string>();
      for (let i = 0; i < raw.count; i++) {
        const words = new BigUint64Array(chunk / 8);
        for (let c = 0; c < raw.valueStride / chunk; c++)
          for (let k = 0; k < words.length; k++) words[k] += raw.values.readBigUInt64LE(i * raw.valueStride + c * chunk + 8 * k);
        want.set(raw.keys.subarray(i * info.keySize, (i + 1) * info.keySize).toString('hex'), words.join());
      }
      let total = 0n;
      for (let i = 0; i < summed.count; i++) {
        const key = summed.keys.subarray(i * info.keySize, (i + 1) * info.keySize).toString('hex');
        const words = new BigUint64Array(
          summed.values.buffer.slice(summed.values.byteOffset + i * chunk, summed.values.byteOffset + (i + 1) * chunk),
        );
        assert.equal(words.join(), want.get(key), `entry ${key}`);
        total += words.slice(1).reduce((x, y) => x + y, 0n);
      }
      assert.equal(total, BigInt(sent - dropped('no_memory')), 'every value counted, but those dropped as no_memory');
      const nonzero = object.readMapNonzero('values_hist');
      assert.equal(nonzero.count, summed.count);
      assert.deepEqual(nonzero.keys, summed.keys, 'readMapNonzero: the same keys in the same order');
      assert.deepEqual(u32Words(nonzero.words), nonzeroWords(summed), "readMapNonzero: each entry's nonzero summed words");
    } finally {
      for (const f of fds) fs.closeSync(f);
      object.close();
    }
  });
});
