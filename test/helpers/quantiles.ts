// Percentiles two ways, for the tests that check a histogram's error: exactly, from every event's own value,
// and as Prometheus' histogram_quantile estimates them from buckets (written here from its documented
// algorithm, independently of agent/src/otel/percentile.ts).

/** the nearest-rank q-quantile of the values: the smallest value with at least q of them at or below it */
export function exactQuantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

/** histogram_quantile: the bucket holding rank q * count, linearly interpolated between its bounds; bucket i
 * is (bounds[i-1], bounds[i]], the first starts at 0, the last (+Inf) gives the highest finite bound */
export function histogramQuantile(bounds: readonly number[], counts: readonly number[], q: number): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    if (below + counts[i] >= rank && counts[i] > 0) {
      if (i === bounds.length) return bounds[bounds.length - 1];
      const start = i === 0 ? Math.min(0, bounds[0]) : bounds[i - 1];
      return start + ((bounds[i] - start) * (rank - below)) / counts[i];
    }
    below += counts[i];
  }
  return bounds[bounds.length - 1];
}

export const PERCENTILES = [0.5, 0.9, 0.99, 0.999];

/** each percentile's relative error of the histogram's estimate against the exact one; `shortExtra`: events
 * the histogram holds besides the values, all shorter than them (its rank q * n of the values is then
 * q * n + shortExtra of its own) */
export function percentileErrors(values: readonly number[], bounds: readonly number[], counts: readonly number[], shortExtra = 0) {
  const n = values.length;
  return PERCENTILES.map((q) => {
    const exact = exactQuantile(values, q);
    const estimate = histogramQuantile(bounds, counts, (q * n + shortExtra) / (n + shortExtra));
    return { q, exact, estimate, error: Math.abs(estimate - exact) / exact };
  });
}

/** one line per percentile: p99 exact 1.234 ms, kotel 1.251 ms (+1.4%) */
export function describeErrors(errors: ReturnType<typeof percentileErrors>): string {
  return errors
    .map(
      (e) =>
        `p${e.q * 100} exact ${(e.exact * 1e3).toFixed(4)} ms, histogram ${(e.estimate * 1e3).toFixed(4)} ms ` +
        `(${e.estimate >= e.exact ? '+' : '-'}${(e.error * 100).toFixed(2)}%)`,
    )
    .join('; ');
}
