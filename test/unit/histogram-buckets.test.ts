// The kernel histogram's bucket arithmetic against OpenTelemetry's definition of a base-2 exponential bucket
// (bucket i of scale s holds (2^(i/2^s), 2^((i+1)/2^s)] s), decided exactly with BigInt. The kernel's slot
// function is replayed here line by line (bpf/kotel_hist.bpf.h); test/integration/histogram-buckets.test.ts
// runs the real one in the kernel on the same values.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { MAX_SCALE, OCTAVES, boundNs, mantissaThresholds, otelIndex, scaleLayout } from '../../agent/src/kernel/exponentialBuckets';
import { boundaryValues, kernelSlotOf } from '../helpers/histogramSlots';

const HEADER = path.resolve(__dirname, '..', '..', '..', 'bpf', 'kotel_hist_mantissa.h');

test('the mantissa table in bpf/kotel_hist_mantissa.h is floor(2^63 * 1e9 * 2^((j - 478)/16)), exactly', () => {
  const inHeader = [...fs.readFileSync(HEADER, 'utf8').matchAll(/0x([0-9a-f]+)ULL/g)].map((m) => BigInt(`0x${m[1]}`));
  const exact = mantissaThresholds();
  assert.deepEqual(inHeader, exact, `expected ${exact.map((t) => `0x${t.toString(16)}ULL`).join(', ')}`);
  // each is the largest 64-bit value whose 16th power stays under the bound's: floor, not rounding
  const j = 5;
  const y = (10n ** 144n) << BigInt(63 * 16 + j + 1 - 479);
  assert.ok(exact[j] ** 16n <= y && (exact[j] + 1n) ** 16n > y);
});

test('bounds are the largest integer ns at or below the bucket edge in seconds', () => {
  assert.equal(boundNs(4, 0), 1_000_000_000n, '2^0 s');
  assert.equal(boundNs(0, -10), 976_562n, '2^-10 s = 976562.5 ns');
  assert.equal(boundNs(0, 3), 8_000_000_000n);
  assert.equal(boundNs(1, 1), 1_414_213_562n, 'sqrt(2) s');
  assert.equal(boundNs(2, -1), 840_896_415n, '2^-0.25 s');
});

test('otelIndex follows the data model at the edges: (base^i, base^(i+1)] in seconds', () => {
  assert.equal(otelIndex(0, 1_000_000_000n), -1, '1 s is the upper edge of bucket -1');
  assert.equal(otelIndex(0, 1_000_000_001n), 0);
  assert.equal(otelIndex(0, 2_000_000_000n), 0);
  assert.equal(otelIndex(0, 1n), -30, '1 ns: 2^-30 s < 1e-9 s <= 2^-29 s');
  assert.equal(otelIndex(1, 1_414_213_562n), 0, 'below sqrt(2) s');
  assert.equal(otelIndex(1, 1_414_213_563n), 1, 'above sqrt(2) s');
});

test('the kernel slot of every value at and next to every bound is its OTel bucket, at every scale', () => {
  for (let scale = 0; scale <= MAX_SCALE; scale++) {
    const layout = scaleLayout(scale);
    let checked = 0;
    for (const v of boundaryValues(scale)) {
      const slot = kernelSlotOf(v, layout);
      assert.ok(slot >= 1 && slot < layout.slots, `scale ${scale}: ${v} ns in slot ${slot} of ${layout.slots}`);
      assert.equal(slot - 1 - layout.offset, otelIndex(scale, v), `scale ${scale}: ${v} ns`);
      checked++;
    }
    assert.ok(checked >= 2.5 * OCTAVES * 2 ** scale, `scale ${scale}: ${checked} values`);
    assert.equal(kernelSlotOf(0n, layout), 0, 'zero has the zero slot');
    assert.equal(kernelSlotOf(1n << 48n, layout), layout.slots - 1, '2^48 ns and more: the last slot');
  }
});

test('the layouts: slots, knobs and offsets per scale', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4].map((s) => [scaleLayout(s).slots, scaleLayout(s).offset]),
    [
      [50, 30],
      [98, 60],
      [194, 120],
      [386, 240],
      [770, 479],
    ],
  );
  assert.deepEqual(scaleLayout(4).knobs, { kotel_hist_shift: 0, kotel_hist_round: 0, kotel_hist_slots: 770 });
  assert.throws(() => scaleLayout(5), /histogram scale 5: must be 0..4/);
});
