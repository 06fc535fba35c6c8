// The kernel histograms' buckets (bpf/kotel.h; bpf/kotel_hist.bpf.h computes the slot) are
// OpenTelemetry's base-2 exponential buckets of the value in seconds: at scale s, bucket i holds
// (2^(i/2^s), 2^((i+1)/2^s)] s. The kernel records integer nanoseconds v; v/1e9 lies in bucket i exactly when
// floor(B_i) < v <= floor(B_(i+1)) with B_i = 1e9 * 2^(i/2^s) ns, so every bound here is an integer number of
// ns, computed exactly with BigInt (no floating point decides a bucket).
//
// The kernel finds v's octave k = floor(log2 v) (v < 2^KOTEL_HIST_OCTAVES), then counts the scale-4 bounds
// of that octave below v by comparing v << (63 - k) with MANTISSA (the same 16 thresholds in every octave,
// since the bounds repeat with a factor of 2): slot4 = 16k + that count, whose OTel index at scale 4 is
// slot4 - C4. A lower scale s merges 2^(4-s) neighbours: (slot4 + round) >> (4 - s).

/** the finest scale the kernel computes (bpf/kotel.h KOTEL_HIST_MAX_SCALE) */
export const MAX_SCALE = 4;
/** values from 1 ns to 2^OCTAVES ns (3.26 days) have their own buckets; longer ones count in the last */
export const OCTAVES = 48;
const NS_PER_S = 10n ** 9n;

/** max N >= 0 with N^n <= x (x >= 0) */
function iroot(x: bigint, n: number): bigint {
  if (x < 2n) return x;
  let lo = 0n;
  let hi = 1n << (BigInt(x.toString(2).length) / BigInt(n) + 1n);
  while (lo < hi) {
    const mid = (lo + hi + 1n) >> 1n;
    if (mid ** BigInt(n) <= x) lo = mid;
    else hi = mid - 1n;
  }
  return lo;
}

/** ceil(2^scale * log2(1e9)): 1e9^(2^s) is no power of two, so its bit length is the ceiling of its log2 */
function ceilScaledLog2Billion(scale: number): number {
  return (NS_PER_S ** (1n << BigInt(scale))).toString(2).length;
}

const C4 = ceilScaledLog2Billion(MAX_SCALE);

/** floor(2^63 * f_j) for the 16 scale-4 bounds f_j in [1, 2) of an octave (bpf/kotel_hist_mantissa.h) */
export function mantissaThresholds(): bigint[] {
  const n = 1 << MAX_SCALE;
  // f_j = 1e9 * 2^((j + 1 - C4)/16): N^16 <= 1e9^16 * 2^(63*16 + j + 1 - C4)
  return Array.from({ length: n }, (_, j) => iroot((NS_PER_S ** BigInt(n)) << BigInt(63 * n + j + 1 - C4), n));
}

/** slots per kernel histogram map entry (bpf/kotel.h KOTEL_HIST_CHUNK_SLOTS): a series holds one entry per
 * chunk of slots in use, key chunk = slot / CHUNK_SLOTS */
export const CHUNK_SLOTS = 16;
/** map entries a histogram series is given room for, at most: its values spanning 8 chunks (8 octaves at
 * scale 4, 1 us to 256 us say); the map's entries are shared, so a wider series takes a narrower one's */
const ENTRIES_PER_SERIES = 8;

export interface ScaleLayout {
  scale: number;
  /** rodata knobs of every object with histograms (bpf/kotel_hist.bpf.h) */
  knobs: { kotel_hist_shift: number; kotel_hist_round: number; kotel_hist_slots: number };
  /** slots at this scale: slot 0 counts v = 0, slot 1 + t OTel bucket t - offset */
  slots: number;
  /** OTel index = value slot t - offset */
  offset: number;
  /** histogram map entries per (cgroup, kind) series the maps are sized for: a histogram map holds
   * maxCgroupKeys x this */
  entriesPerSeries: number;
}

export function scaleLayout(scale: number): ScaleLayout {
  if (!Number.isInteger(scale) || scale < 0 || scale > MAX_SCALE) throw new RangeError(`histogram scale ${scale}: must be 0..${MAX_SCALE}`);
  const shift = MAX_SCALE - scale;
  const merge = 1 << shift;
  // (slot4 - C4) >> shift == ((slot4 + round) >> shift) - offset needs round = -C4 mod merge
  const round = (merge - (C4 % merge)) % merge;
  const offset = (C4 + round) / merge;
  const slots = 1 + ((((OCTAVES << MAX_SCALE) + round) >> shift) + 1);
  const knobs = { kotel_hist_shift: shift, kotel_hist_round: round, kotel_hist_slots: slots };
  return { scale, knobs, slots, offset, entriesPerSeries: Math.min(ENTRIES_PER_SERIES, Math.ceil(slots / CHUNK_SLOTS)) };
}

/** floor(1e9 * 2^(index / 2^scale)): the largest integer ns whose value in seconds is <= the bound */
export function boundNs(scale: number, index: number): bigint {
  const n = 1 << scale;
  const y = NS_PER_S ** BigInt(n);
  // N^n <= y / 2^m holds for an integer N^n exactly when N^n <= floor(y / 2^m)
  return iroot(index >= 0 ? y << BigInt(index) : y >> BigInt(-index), n);
}

/** the OTel bucket index of an integer ns value (> 0) at `scale`, by the data model's definition, exactly:
 * bucket i holds 2^i * 1e9^n < ns^n <= 2^(i+1) * 1e9^n with n = 2^scale */
export function otelIndex(scale: number, ns: bigint): number {
  if (ns <= 0n) throw new RangeError('the zero bucket holds values <= 0');
  const n = BigInt(1 << scale);
  const x = ns ** n;
  const y = NS_PER_S ** n;
  const above = (k: number) => (k >= 0 ? x > y << BigInt(k) : x << BigInt(-k) > y); // ns^n > 2^k * y
  // the bit lengths put the index within 2 of the answer
  let i = x.toString(2).length - y.toString(2).length - 1;
  while (above(i + 1)) i++;
  while (!above(i)) i--;
  return i;
}
