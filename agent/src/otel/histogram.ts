// Kernel log2 histograms (struct kotel_hist, bpf/kotel.h) → OpenTelemetry explicit-bucket histograms.
// Kernel slot 0 holds v <= 1 ns and slot i holds 2^(i-1) < v <= 2^i ns, so slot i's upper bound is
// exactly 2^i ns: the OTel bucket (b[i-1], b[i]] with b[i] = 2^i ns is the same set of values. Slots
// below `minSlot` fold into the first bucket and slots from `maxSlot` on into the overflow bucket, which
// keeps every remaining bound exact while trimming empty ranges.
import type { Histogram } from '@opentelemetry/sdk-metrics';

export const NS_PER_S = 1e9;

export interface SlotRange {
  /** first bound exported is 2^minSlot ns */
  minSlot: number;
  /** last bound exported is 2^maxSlot ns; everything above lands in the overflow bucket */
  maxSlot: number;
}

/** Bucket upper bounds in seconds for a slot range: 2^minSlot ns .. 2^maxSlot ns. */
export function log2Boundaries(range: SlotRange): number[] {
  const bounds: number[] = [];
  for (let i = range.minSlot; i <= range.maxSlot; i++) bounds.push(2 ** i / NS_PER_S);
  return bounds;
}

/**
 * Builds an OTel histogram value from kernel slot counts (already summed over CPUs) and the sum in ns.
 * counts[k] of the result: k = 0 takes slots 0..minSlot, k = j takes slot minSlot + j, the last takes
 * slots > maxSlot.
 */
export function toOtelHistogram(slots: ArrayLike<number>, sumNs: number, range: SlotRange): Histogram {
  const nBounds = range.maxSlot - range.minSlot + 1;
  const counts = new Array<number>(nBounds + 1).fill(0);
  let count = 0;
  for (let i = 0; i < slots.length; i++) {
    const c = slots[i];
    if (c === 0) continue;
    count += c;
    const k = i <= range.minSlot ? 0 : i > range.maxSlot ? nBounds : i - range.minSlot;
    counts[k] += c;
  }
  return {
    buckets: { boundaries: log2Boundaries(range), counts },
    sum: sumNs / NS_PER_S,
    count,
  };
}

/** Difference of two cumulative histograms with the same boundaries (for delta temporality). */
export function subtractHistogram(now: Histogram, before: Histogram): Histogram {
  return {
    buckets: {
      boundaries: now.buckets.boundaries,
      counts: now.buckets.counts.map((c, i) => c - (before.buckets.counts[i] ?? 0)),
    },
    sum: (now.sum ?? 0) - (before.sum ?? 0),
    count: now.count - before.count,
  };
}
