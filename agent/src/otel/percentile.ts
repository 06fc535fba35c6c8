/** Percentile estimates from bucketed histograms (what the console report shows). */

/**
 * Estimates the q-quantile (0..1) of an explicit-bucket histogram by linear interpolation inside the
 * bucket holding the rank q*count (as Prometheus' histogram_quantile does).
 * bounds: upper bounds b0 < b1 < ...; counts has bounds.length + 1 entries: bucket i holds (b[i-1], b[i]],
 * bucket 0 is (-inf, b0], the last (b[n-1], +inf). The open ends use min/max when known, else 0 (or b0 if
 * negative) below and the last bound above.
 */
export function explicitBucketQuantile(
  q: number,
  bounds: readonly number[],
  counts: readonly number[],
  min?: number,
  max?: number,
): number | undefined {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total <= 0 || counts.length === 0) return undefined;
  const rank = Math.min(Math.max(q, 0), 1) * total;
  let cum = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (c > 0 && cum + c >= rank) {
      let lower = i === 0 ? (min !== undefined ? Math.min(min, bounds[0] ?? min) : Math.min(0, bounds[0] ?? 0)) : bounds[i - 1];
      let upper = i < bounds.length ? bounds[i] : max !== undefined ? Math.max(max, lower) : lower;
      if (i === 0 && bounds.length === 0) {
        lower = min ?? 0;
        upper = max ?? lower;
      }
      return lower + ((upper - lower) * (rank - cum)) / c;
    }
    cum += c;
  }
  return bounds.length ? bounds[bounds.length - 1] : max;
}

/**
 * The same for an OTel exponential histogram (base 2^(2^-scale); positive bucket index i holds
 * (base^i, base^(i+1)]). Negative values are not supported (kernel durations and sizes are >= 0): they
 * count as zero.
 */
export function exponentialQuantile(
  q: number,
  h: {
    scale: number;
    zeroCount: number;
    positive: { offset: number; bucketCounts: number[] };
    negative?: { bucketCounts: number[] };
    min?: number;
    max?: number;
  },
): number | undefined {
  const base = Math.pow(2, Math.pow(2, -h.scale));
  const neg = (h.negative?.bucketCounts ?? []).reduce((a, b) => a + b, 0);
  const bounds: number[] = [0];
  const counts: number[] = [h.zeroCount + neg];
  if (h.positive.bucketCounts.length === 0) return explicitBucketQuantile(q, bounds, [counts[0], 0], h.min, h.max);
  h.positive.bucketCounts.forEach((c, j) => {
    const i = h.positive.offset + j;
    if (j === 0) bounds.push(Math.pow(base, i));
    counts.push(c);
    bounds.push(Math.pow(base, i + 1));
  });
  // explicit form: bucket 0 = (-inf, 0], then (base^off, ...]: the gap (0, base^off] holds nothing
  counts.splice(1, 0, 0);
  counts.push(0);
  return explicitBucketQuantile(q, bounds, counts, h.min, h.max);
}
