/**
 * A MetricReader that prints a top-like report of every metric to stdout every console.interval:
 * a header line, then per metric a compact table, rows grouped by data-point attributes.
 *   counters (monotonic sums)      value, rate/s since the previous block
 *   up-down counters, gauges       value
 *   histograms                     count, rate/s, mean, p50, p90, p99 (estimated from the buckets)
 * Always cumulative; rates are differences between two blocks.
 */
import type { Attributes, HrTime } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  MetricReader,
  type DataPoint,
  type ExponentialHistogram,
  type Histogram,
  type MetricData,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import { formatNumber, formatWithUnit } from './format';
import { explicitBucketQuantile, exponentialQuantile } from './percentile';

/** rows shown per metric; the rest is summarised as "… and K more" */
export const MAX_ROWS_PER_METRIC = 10;
/** report width the layout aims at */
export const REPORT_WIDTH = 100;

export interface ConsoleReportReaderOptions {
  intervalMillis: number;
  metricProducers?: MetricProducer[];
  /** where blocks go; default process.stdout */
  write?: (block: string) => void;
  maxRowsPerMetric?: number;
  /** clock in ms (tests) */
  now?: () => number;
  /** called when a collection fails (default: ignored, the next block will try again) */
  onError?: (err: unknown) => void;
}

interface Previous {
  time: number;
  value: number;
}

function hrToSeconds(t: HrTime): number {
  return t[0] + t[1] / 1e9;
}

const IDENTITY_KEYS = new Set(['container.id', 'k8s.pod.uid', 'cgroup.path', 'cgroup.id']);

/** compact label of a data point's attributes: container/pod/cgroup first, then the metric's own */
export function attributeLabel(attrs: Attributes): string {
  const parts: string[] = [];
  const container = attrs['container.id'];
  const pod = attrs['k8s.pod.uid'];
  const cgroupPath = attrs['cgroup.path'];
  if (typeof container === 'string' && container) parts.push(`ctr:${container.slice(0, 12)}`);
  else if (typeof pod === 'string' && pod) parts.push(`pod:${pod.slice(0, 8)}`);
  else if (typeof cgroupPath === 'string' && cgroupPath) parts.push(cgroupPath);
  else if (attrs['cgroup.id'] !== undefined) parts.push(`cgroup:${String(attrs['cgroup.id'])}`);
  for (const [k, v] of Object.entries(attrs)) {
    if (IDENTITY_KEYS.has(k) || v === undefined) continue;
    parts.push(`${k.slice(k.lastIndexOf('.') + 1)}=${Array.isArray(v) ? v.join('|') : String(v)}`);
  }
  return parts.length ? parts.join(' ') : '(all)';
}

function attrKey(attrs: Attributes): string {
  return JSON.stringify(Object.entries(attrs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function fit(s: string, width: number): string {
  if (s.length <= width) return s.padEnd(width);
  // keep the end: cgroup paths and container ids differ at the end
  return '…' + s.slice(s.length - width + 1);
}

function histCount(v: Histogram | ExponentialHistogram): number {
  return v.count;
}

export class ConsoleReportReader extends MetricReader {
  private timer?: NodeJS.Timeout;
  private readonly previous = new Map<string, Previous>();
  private readonly write: (block: string) => void;
  private readonly maxRows: number;
  private lastReport?: number;
  private readonly sections = new Set<() => string[]>();

  constructor(private readonly options: ConsoleReportReaderOptions) {
    super({
      metricProducers: options.metricProducers,
      aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE,
    });
    this.write = options.write ?? ((b) => void process.stdout.write(b));
    this.maxRows = options.maxRowsPerMetric ?? MAX_ROWS_PER_METRIC;
  }

  /** adds lines printed after the metrics in every block (a family's table); returns the remover */
  addSection(section: () => string[]): () => void {
    this.sections.add(section);
    return () => this.sections.delete(section);
  }

  protected override onInitialized(): void {
    this.timer = setInterval(() => {
      this.report().then(
        (block) => this.write(block),
        (err) => this.options.onError?.(err),
      );
    }, this.options.intervalMillis);
    this.timer.unref();
  }

  protected override async onShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  protected override async onForceFlush(): Promise<void> {
    /* nothing buffered */
  }

  /** collects now and returns the block (does not write it) */
  async report(): Promise<string> {
    const { resourceMetrics, errors } = await this.collect();
    const now = (this.options.now ?? Date.now)();
    const metrics: MetricData[] = [];
    for (const sm of resourceMetrics.scopeMetrics) metrics.push(...sm.metrics);
    // what the host does first, kotel's own health (kotel.*) last
    const order = (name: string) => `${name.startsWith('kotel.') ? 1 : 0}${name}`;
    metrics.sort((a, b) => (order(a.descriptor.name) < order(b.descriptor.name) ? -1 : 1));
    const lines: string[] = [];
    const since = this.lastReport !== undefined ? `${((now - this.lastReport) / 1000).toFixed(1)}s since last` : 'first report';
    lines.push(
      `── kotel ${new Date(now).toISOString().replace('T', ' ').slice(0, 19)}Z ── every ${(this.options.intervalMillis / 1000).toFixed(1)}s (${since}) ── ${metrics.length} metrics` +
        (errors.length ? ` ── ${errors.length} collection errors` : ''),
    );
    for (const m of metrics) lines.push(...this.formatMetric(m, now));
    for (const section of this.sections) lines.push(...section());
    this.lastReport = now;
    return lines.join('\n') + '\n\n';
  }

  private rate(id: string, value: number, now: number, start: HrTime): string {
    const prev = this.previous.get(id);
    this.previous.set(id, { time: now, value });
    let dt: number;
    let dv: number;
    if (prev && value >= prev.value) {
      dt = (now - prev.time) / 1000;
      dv = value - prev.value;
    } else {
      // first sight (or a reset): average since the point's start time, if that says anything
      dt = now / 1000 - hrToSeconds(start);
      dv = value;
      if (dt < 1) return '-';
    }
    return dt > 0 ? formatNumber(dv / dt) : '-';
  }

  private formatMetric(m: MetricData, now: number): string[] {
    const { name, unit, description } = m.descriptor;
    // the name always shows whole; the description is cut at the right to fit the line
    const head = `${name}${unit && unit !== '1' ? ` [${unit}]` : ''}`;
    const room = REPORT_WIDTH - head.length - 1;
    const desc = description && room > 3 ? ` ${description.length > room ? `${description.slice(0, room - 1)}…` : description}` : '';
    const out: string[] = [head + desc];
    const points = m.dataPoints as DataPoint<unknown>[];
    let header: string[];
    let rows: Array<{ sortBy: number; cells: string[]; label: string }>;
    const numCol = 9;
    switch (m.dataPointType) {
      case DataPointType.SUM:
      case DataPointType.GAUGE: {
        const monotonic = m.dataPointType === DataPointType.SUM && m.isMonotonic;
        header = monotonic ? ['value', 'rate/s'] : ['value'];
        rows = (m.dataPoints as DataPoint<number>[]).map((p) => {
          const cells = [formatWithUnit(p.value, unit)];
          if (monotonic) cells.push(this.rate(`${name}\0${attrKey(p.attributes)}`, p.value, now, p.startTime));
          return { sortBy: p.value, cells, label: attributeLabel(p.attributes) };
        });
        break;
      }
      case DataPointType.HISTOGRAM:
      case DataPointType.EXPONENTIAL_HISTOGRAM: {
        header = ['count', 'rate/s', 'mean', 'p50', 'p90', 'p99'];
        rows = (points as DataPoint<Histogram | ExponentialHistogram>[]).map((p) => {
          const v = p.value;
          const count = histCount(v);
          const q = (x: number) => {
            const r =
              m.dataPointType === DataPointType.HISTOGRAM
                ? explicitBucketQuantile(x, (v as Histogram).buckets.boundaries, (v as Histogram).buckets.counts, v.min, v.max)
                : exponentialQuantile(x, v as ExponentialHistogram);
            return r === undefined ? '-' : formatWithUnit(r, unit);
          };
          const mean = count > 0 && v.sum !== undefined ? formatWithUnit(v.sum / count, unit) : '-';
          return {
            sortBy: count,
            label: attributeLabel(p.attributes),
            cells: [
              formatNumber(count),
              this.rate(`${name}\0${attrKey(p.attributes)}`, count, now, p.startTime),
              mean,
              q(0.5),
              q(0.9),
              q(0.99),
            ],
          };
        });
        break;
      }
      default:
        return out;
    }
    if (rows.length === 0) {
      out.push('  (no data)');
      return out;
    }
    const labelWidth = REPORT_WIDTH - 2 - header.length * (numCol + 1);
    out.push('  ' + ''.padEnd(labelWidth) + header.map((h) => ' ' + h.padStart(numCol)).join(''));
    rows.sort((a, b) => b.sortBy - a.sortBy);
    for (const r of rows.slice(0, this.maxRows)) {
      out.push(('  ' + fit(r.label, labelWidth) + r.cells.map((c) => ' ' + c.padStart(numCol)).join('')).trimEnd());
    }
    if (rows.length > this.maxRows) out.push(`  … and ${rows.length - this.maxRows} more`);
    return out;
  }
}
