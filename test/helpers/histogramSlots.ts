// The kernel's histogram slot function (kotel_hist_slot, bpf/kotel_hist.bpf.h) replayed in BigInt, and the
// values that probe it: every bucket bound of a scale in integer ns, and its neighbours.
import { MAX_SCALE, OCTAVES, boundNs, mantissaThresholds, otelIndex, type ScaleLayout } from '../../agent/src/kernel/exponentialBuckets';

const MANTISSA = mantissaThresholds();
const U64 = (1n << 64n) - 1n;

export function kernelSlotOf(v: bigint, layout: ScaleLayout): number {
  if (v === 0n) return 0;
  const k = v.toString(2).length - 1;
  if (k >= OCTAVES) return layout.slots - 1;
  const m = (v << BigInt(63 - k)) & U64;
  const gt = (i: number) => (m > MANTISSA[i & 15] ? 1 : 0);
  let j = gt(7) << 3;
  j += gt(j + 3) << 2;
  j += gt(j + 1) << 1;
  j += gt(j);
  j += gt(j);
  const { kotel_hist_round: round, kotel_hist_shift: shift } = layout.knobs;
  return 1 + (((k << MAX_SCALE) + j + round) >> shift);
}

/** every bound of `scale` from 1 ns to 2^OCTAVES ns, each with the values one below and one above it */
export function boundaryValues(scale: number): bigint[] {
  const top = 1n << BigInt(OCTAVES);
  const values = new Set<bigint>([1n, 2n, 3n, top - 1n]);
  for (let i = otelIndex(scale, 1n); i <= otelIndex(scale, top - 1n); i++) {
    const b = boundNs(scale, i);
    for (const v of [b - 1n, b, b + 1n]) if (v > 0n && v < top) values.add(v);
  }
  return [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
