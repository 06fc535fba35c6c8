// Prometheus names as the OpenTelemetry Collector's `prometheus` exporter builds them from OTLP (its
// pkg/translator/prometheus "full normalization", on by default since v0.6x): the name's alphanumeric runs
// joined by `_`, the UCUM unit's Prometheus word appended unless the name has it (annotations in {} dropped,
// `a/b` -> `a_per_b`), `_total` for monotonic sums, `_ratio` for gauges of unit `1`. kotel's own endpoint
// serves the same names, so one dashboard works on both paths.

const UNIT_WORDS: Record<string, string> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '1': '',
  '%': 'percent',
};
const PER_UNIT_WORDS: Record<string, string> = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', mo: 'month', y: 'year' };

/** how the Prometheus exporters see a metric: monotonic sums are counters */
export type PrometheusKind = 'counter' | 'gauge' | 'histogram';

const words = (s: string): string[] => s.split(/[^\p{L}\p{N}]+/u).filter(Boolean);

function unitWords(unit: string, table: Record<string, string>): string | undefined {
  const u = unit.trim();
  if (!u || /[{}]/.test(u)) return undefined;
  return words(table[u] ?? u).join('_') || undefined;
}

export function prometheusName(name: string, unit: string, kind: PrometheusKind): string {
  let tokens = words(name);
  const [main, per] = unit.split(/\/(.*)/s);
  const mainWord = unitWords(main ?? '', UNIT_WORDS);
  if (mainWord && !tokens.includes(mainWord)) tokens.push(mainWord);
  const perWord = per ? unitWords(per, PER_UNIT_WORDS) : undefined;
  if (perWord && !tokens.includes(perWord)) tokens.push('per', perWord);
  if (kind === 'counter') tokens = [...tokens.filter((t) => t !== 'total'), 'total'];
  if (unit === '1' && kind === 'gauge') tokens = [...tokens.filter((t) => t !== 'ratio'), 'ratio'];
  const joined = tokens.join('_');
  return /^\p{N}/u.test(joined) ? `_${joined}` : joined;
}
