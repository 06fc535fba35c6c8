// Kernel histograms (chunks of struct kotel_hist, bpf/kotel.h; bucket math in kernel/exponentialBuckets.ts) → OTel
// histograms: base-2 exponential at the kernel's scale, each kernel slot exactly one OTel bucket; or explicit
// ("classic") buckets whose bounds are kernel bucket edges, so every count is exact too: powers of two in
// seconds over the metric's range, and finer (scale CLASSIC_FINE_SCALE) where its values usually lie.
import type { ExponentialHistogram, Histogram } from '@opentelemetry/sdk-metrics';
import { CHUNK_SLOTS, boundNs, type ScaleLayout } from '../kernel/exponentialBuckets';

export const NS_PER_S = 1e9;
/** the classic buckets' scale inside a metric's fine range: 4 per power of two (a bucket spans 19%) */
export const CLASSIC_FINE_SCALE = 2;

/** where a metric's classic buckets go, in seconds */
export interface ClassicRange {
  /** first bound: the power of two (in seconds) at or above it */
  from: number;
  /** last bound: the power of two at or below it; more goes to the overflow bucket */
  to: number;
  /** the range with CLASSIC_FINE_SCALE bounds */
  fine: [number, number];
}

/** one series' cumulative kernel slots, summed over CPUs: counts[i] is slot first + i */
export interface KernelSlots {
  first: number;
  counts: Float64Array;
  sumNs: number;
  count: number;
}

/** one map entry of a histogram series (bpf/kotel.h): its chunk of slots and its readMapNonzero words: n, then
 * n x (u64 word index, low half, high half) */
export interface SlotChunk {
  chunk: number;
  words: Uint32Array;
}

/** a series' slots from its chunks' entries (struct kotel_hist: the slots from u64 word slotsWord on, the
 * sum at sumWord); undefined when no slot is in use */
export function chunkSlots(chunks: SlotChunk[], slotsWord: number, sumWord: number): KernelSlots | undefined {
  let first = Infinity;
  let last = -1;
  let sumNs = 0;
  for (const { chunk, words: w } of chunks) {
    for (let k = 0, j = 1; k < w[0]; k++, j += 3) {
      if (w[j] === sumWord) sumNs += w[j + 1] + w[j + 2] * 4294967296;
      else if (w[j] >= slotsWord) {
        const slot = chunk * CHUNK_SLOTS + w[j] - slotsWord;
        if (slot < first) first = slot;
        if (slot > last) last = slot;
      }
    }
  }
  if (last < 0) return undefined;
  const counts = new Float64Array(last - first + 1);
  let count = 0;
  for (const { chunk, words: w } of chunks) {
    for (let k = 0, j = 1; k < w[0]; k++, j += 3) {
      if (w[j] === sumWord || w[j] < slotsWord) continue;
      const c = w[j + 1] + w[j + 2] * 4294967296;
      counts[chunk * CHUNK_SLOTS + w[j] - slotsWord - first] = c;
      count += c;
    }
  }
  return { first, counts, sumNs, count };
}

/** a kernel map entry starts over when it is deleted and made again: any slot or the sum going down */
export function slotsReset(now: KernelSlots, before: KernelSlots): boolean {
  if (now.count < before.count || now.sumNs < before.sumNs) return true;
  for (let i = 0; i < before.counts.length; i++) {
    const j = before.first + i - now.first;
    if (before.counts[i] > (j >= 0 && j < now.counts.length ? now.counts[j] : 0)) return true;
  }
  return false;
}

/** now - before, slot by slot (before is an earlier reading of the same entry: slotsReset was false) */
export function subtractSlots(now: KernelSlots, before: KernelSlots): KernelSlots {
  const counts = now.counts.slice();
  for (let i = 0; i < before.counts.length; i++) {
    const j = before.first + i - now.first;
    if (j >= 0 && j < counts.length) counts[j] -= before.counts[i];
  }
  return { first: now.first, counts, sumNs: now.sumNs - before.sumNs, count: now.count - before.count };
}

export function toExponential(h: KernelSlots, layout: ScaleLayout): ExponentialHistogram {
  const zeroCount = h.first === 0 ? h.counts[0] : 0;
  let from = h.first === 0 ? 1 : 0;
  let to = h.counts.length;
  while (from < to && h.counts[from] === 0) from++;
  while (to > from && h.counts[to - 1] === 0) to--;
  return {
    count: h.count,
    sum: h.sumNs / NS_PER_S,
    scale: layout.scale,
    zeroCount,
    // slot first + from is value slot first + from - 1
    positive: { offset: h.first + from - 1 - layout.offset, bucketCounts: Array.from(h.counts.subarray(from, to)) },
    negative: { offset: 0, bucketCounts: [] },
  };
}

/** a metric's classic buckets at a kernel scale: the bounds and, per kernel slot, its bucket */
export interface ClassicBuckets {
  boundaries: number[];
  /** bucketOf[slot] */
  bucketOf: Uint16Array;
}

/** kernel-scale OTel indices i whose lower edge 2^(i/2^scale) s is a classic bound */
function classicEdges(range: ClassicRange, scale: number): number[] {
  const edges = new Set<number>();
  const at = (s: number, from: number, to: number) => {
    const step = 2 ** (scale - Math.min(s, scale));
    const n = 2 ** scale;
    for (let i = Math.ceil((Math.log2(from) * n) / step - 1e-9) * step; i <= Math.log2(to) * n + 1e-9; i += step) edges.add(i);
  };
  at(0, range.from, range.to);
  at(CLASSIC_FINE_SCALE, range.fine[0], range.fine[1]);
  return [...edges].sort((a, b) => a - b);
}

export function classicBuckets(range: ClassicRange, layout: ScaleLayout): ClassicBuckets {
  const edges = classicEdges(range, layout.scale);
  // bucket k holds the OTel buckets below edge k: (edge[k-1] .. edge[k]] in bounds; slot 0 (zeros) bucket 0
  const bucketOf = new Uint16Array(layout.slots);
  let k = 0;
  for (let slot = 1; slot < layout.slots; slot++) {
    const index = slot - 1 - layout.offset;
    while (k < edges.length && index >= edges[k]) k++;
    bucketOf[slot] = k;
  }
  return { boundaries: edges.map((i) => Number(boundNs(layout.scale, i)) / NS_PER_S), bucketOf };
}

export function toExplicit(h: KernelSlots, classic: ClassicBuckets): Histogram {
  const counts = new Array<number>(classic.boundaries.length + 1).fill(0);
  for (let i = 0; i < h.counts.length; i++) if (h.counts[i] !== 0) counts[classic.bucketOf[h.first + i]] += h.counts[i];
  return { buckets: { boundaries: classic.boundaries, counts }, sum: h.sumNs / NS_PER_S, count: h.count };
}
