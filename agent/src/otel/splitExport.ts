/**
 * A metric exporter that sends a collection larger than `maxBytes` of OTLP as several requests, one after the
 * other. One request held everything, and a Collector's gRPC receiver refuses a request over 4 MiB by
 * default (RESOURCE_EXHAUSTED): ~35k kotel series, and then no collection got through at all. The size is
 * estimated from above per data point (attributes, values, buckets), not serialized twice. Each request is
 * counted on its own by the exporter inside (StatusMetricExporter); the reader gets the first failure, after
 * every part was tried.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type {
  AggregationOption,
  AggregationTemporality,
  DataPoint,
  ExponentialHistogram,
  Histogram,
  InstrumentType,
  MetricData,
  PushMetricExporter,
  ResourceMetrics,
  ScopeMetrics,
} from '@opentelemetry/sdk-metrics';

/** an upper bound of a data point's OTLP bytes: field tags, times and lengths, UTF-8 strings at 3 bytes a
 * character, varints at their widest in use (bucket counts below 2^35) */
export function pointBytes(p: DataPoint<unknown>): number {
  let n = 48;
  for (const [k, v] of Object.entries(p.attributes)) n += 16 + 3 * (k.length + (typeof v === 'string' ? v.length : 24));
  const v = p.value;
  if (typeof v === 'object' && v !== null) {
    const exp = (v as ExponentialHistogram).positive;
    if (exp) n += 64 + 5 * (exp.bucketCounts.length + (v as ExponentialHistogram).negative.bucketCounts.length);
    else n += 48 + 9 * ((v as Histogram).buckets.boundaries.length + (v as Histogram).buckets.counts.length);
  }
  return n;
}

/** `metrics` cut into parts of at most maxBytes (pointBytes, plus each metric's descriptor); a metric with
 * more is split across parts; a point larger than maxBytes goes alone */
export function splitResourceMetrics(metrics: ResourceMetrics, maxBytes: number): ResourceMetrics[] {
  const parts: ResourceMetrics[] = [];
  let scopes: ScopeMetrics[] = [];
  let used = 0;
  const flush = () => {
    if (scopes.length) parts.push({ resource: metrics.resource, scopeMetrics: scopes });
    scopes = [];
    used = 0;
  };
  const add = (scope: ScopeMetrics, metric: MetricData, from: number, to: number) => {
    const piece = { ...metric, dataPoints: metric.dataPoints.slice(from, to) } as MetricData;
    const last = scopes.at(-1);
    if (last?.scope === scope.scope) last.metrics.push(piece);
    else scopes.push({ scope: scope.scope, metrics: [piece] });
  };
  for (const scope of metrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      const head = 64 + 3 * (metric.descriptor.name.length + metric.descriptor.description.length + metric.descriptor.unit.length);
      let from = 0;
      used += head;
      for (let i = 0; i < metric.dataPoints.length; i++) {
        const b = pointBytes(metric.dataPoints[i] as DataPoint<unknown>);
        if (used + b > maxBytes && (i > from || scopes.length)) {
          if (i > from) add(scope, metric, from, i);
          flush();
          from = i;
          used = head;
        }
        used += b;
      }
      if (metric.dataPoints.length > from || metric.dataPoints.length === 0) add(scope, metric, from, metric.dataPoints.length);
    }
  }
  flush();
  return parts.length ? parts : [metrics];
}

export class SplitMetricExporter implements PushMetricExporter {
  constructor(
    private readonly inner: PushMetricExporter,
    private readonly maxBytes: number,
  ) {}

  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    const parts = splitResourceMetrics(metrics, this.maxBytes);
    let failure: ExportResult | undefined;
    const next = (i: number) => {
      if (i === parts.length) {
        resultCallback(failure ?? { code: ExportResultCode.SUCCESS });
        return;
      }
      this.inner.export(parts[i], (result) => {
        if (result.code !== ExportResultCode.SUCCESS) failure ??= result;
        next(i + 1);
      });
    };
    next(0);
  }

  selectAggregationTemporality(instrumentType: InstrumentType): AggregationTemporality {
    return this.inner.selectAggregationTemporality!(instrumentType);
  }

  selectAggregation(instrumentType: InstrumentType): AggregationOption {
    return this.inner.selectAggregation!(instrumentType);
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}
