// One JSON snapshot of everything kotel measures (`kotel record`, GET /report): the machine, the kernel, the
// configuration, each family's metrics with percentiles of its histograms, kotel's own metrics and the drops.
// agent/report.schema.json is its JSON schema; REPORT_SCHEMA names its version.
import * as os from 'node:os';
import type { Attributes, HrTime } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  MetricReader,
  type ExponentialHistogram,
  type MetricData,
  type MetricProducer,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { exponentialQuantile } from './percentile';
import { ATTR, SELF } from './semconv';

export const REPORT_SCHEMA = 'kotel.report/v1';

/** the percentiles every histogram reports, by their names in the report */
export const REPORT_PERCENTILES = { p50: 0.5, p75: 0.75, p90: 0.9, p95: 0.95, p99: 0.99, 'p99.9': 0.999 } as const;

type Percentiles = Record<keyof typeof REPORT_PERCENTILES, number | null>;

export interface ReportHistogramPoint {
  attributes: Attributes;
  count: number;
  /** in the metric's unit */
  sum: number;
  mean: number | null;
  /** estimated from the exponential buckets (error below 2^(2^-scale) - 1: 4.4% at scale 4) */
  percentiles: Percentiles;
  /** the exponential buckets: bucket offset + i holds (base^(offset+i), base^(offset+i+1)], base = 2^(2^-scale) */
  buckets: { scale: number; zeroCount: number; offset: number; counts: number[] };
}

export interface ReportValuePoint {
  attributes: Attributes;
  value: number;
}

export interface ReportMetric {
  name: string;
  unit: string;
  description: string;
  type: 'histogram' | 'counter' | 'updowncounter' | 'gauge';
  points: Array<ReportHistogramPoint | ReportValuePoint>;
}

export interface ReportFamily {
  /** probes attached of those it tried */
  probes: { attached: number; total: number };
  metrics: ReportMetric[];
  /** the family's own sections, e.g. tcp's per-connection breakdown (connections) */
  [section: string]: unknown;
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  kotel: { version: string };
  /** what the cumulative values cover: from the agent's start to the snapshot */
  startTime: string;
  endTime: string;
  durationSeconds: number;
  machine: { hostname: string; arch: string; cpus: number; memoryBytes: number; os: string };
  kernel: { release: string; version: string };
  /** the effective configuration, secrets redacted */
  config: unknown;
  families: Record<string, ReportFamily>;
  /** kotel's own metrics (kotel.*) */
  agent: { metrics: ReportMetric[] };
  /** every counted loss (kotel.events.dropped), nonzero only */
  drops: Array<{ family: string; reason: string; count: number }>;
}

export interface ReportContext {
  version: string;
  startTime: HrTime;
  config: unknown;
  /** the family a metric belongs to, undefined for kotel's own */
  familyOf(metricName: string): string | undefined;
  /** every loaded family, with its probes */
  probes: Record<string, { attached: number; total: number }>;
  /** each family's own sections (tcp: connections), merged into its entry */
  sections: Record<string, Record<string, unknown>>;
}

function isoOf(t: HrTime): string {
  return new Date(t[0] * 1000 + t[1] / 1e6).toISOString();
}

function seconds(t: HrTime): number {
  return t[0] + t[1] / 1e9;
}

function histogramPoint(attributes: Attributes, h: ExponentialHistogram): ReportHistogramPoint {
  const percentiles = Object.fromEntries(
    Object.entries(REPORT_PERCENTILES).map(([name, q]) => [name, exponentialQuantile(q, h) ?? null]),
  ) as Percentiles;
  return {
    attributes,
    count: h.count,
    sum: h.sum ?? 0,
    mean: h.count > 0 ? (h.sum ?? 0) / h.count : null,
    percentiles,
    buckets: { scale: h.scale, zeroCount: h.zeroCount, offset: h.positive.offset, counts: h.positive.bucketCounts },
  };
}

function reportMetric(m: MetricData): ReportMetric | undefined {
  const { name, unit, description } = m.descriptor;
  const base = { name, unit, description };
  switch (m.dataPointType) {
    case DataPointType.EXPONENTIAL_HISTOGRAM:
      return { ...base, type: 'histogram', points: m.dataPoints.map((p) => histogramPoint(p.attributes, p.value)) };
    case DataPointType.SUM:
      return {
        ...base,
        type: m.isMonotonic ? 'counter' : 'updowncounter',
        points: m.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value })),
      };
    case DataPointType.GAUGE:
      return { ...base, type: 'gauge', points: m.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value })) };
    default:
      return undefined; // explicit-bucket histograms: this reader asks for exponential ones only
  }
}

export function buildReport(rm: ResourceMetrics, ctx: ReportContext, now: HrTime): Report {
  const families: Record<string, ReportFamily> = Object.fromEntries(
    Object.entries(ctx.probes).map(([name, p]) => [name, { probes: p, metrics: [] as ReportMetric[] }]),
  );
  const agent: ReportMetric[] = [];
  const drops: Report['drops'] = [];
  for (const scope of rm.scopeMetrics)
    for (const m of scope.metrics) {
      const metric = reportMetric(m);
      if (!metric) continue;
      const family = ctx.familyOf(metric.name);
      if (family) (families[family] ??= { probes: { attached: 0, total: 0 }, metrics: [] }).metrics.push(metric);
      else agent.push(metric);
      if (metric.name === SELF.eventsDropped.name)
        for (const p of metric.points as ReportValuePoint[])
          if (p.value > 0)
            drops.push({ family: String(p.attributes[ATTR.family]), reason: String(p.attributes[ATTR.dropReason]), count: p.value });
    }
  for (const [family, section] of Object.entries(ctx.sections))
    Object.assign((families[family] ??= { probes: { attached: 0, total: 0 }, metrics: [] }), section);
  return {
    schema: REPORT_SCHEMA,
    kotel: { version: ctx.version },
    startTime: isoOf(ctx.startTime),
    endTime: isoOf(now),
    durationSeconds: seconds(now) - seconds(ctx.startTime),
    machine: { hostname: os.hostname(), arch: os.arch(), cpus: os.cpus().length, memoryBytes: os.totalmem(), os: os.type() },
    kernel: { release: os.release(), version: os.version() },
    config: ctx.config,
    families,
    agent: { metrics: agent },
    drops,
  };
}

/** a pull reader for the report: cumulative, exponential histograms (for their percentiles) */
export class ReportReader extends MetricReader {
  constructor(metricProducers?: MetricProducer[]) {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE, metricProducers });
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}
