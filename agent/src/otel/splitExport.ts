/**
 * A metric exporter that sends a collection of more than `maxPoints` data points as several OTLP requests,
 * one after the other. One request holds everything otherwise, and a Collector's gRPC receiver refuses a
 * request over 4 MiB by default (RESOURCE_EXHAUSTED): ~35k kotel series in one request, and then no
 * collection at all would get through. Each request is counted on its own by the exporter inside
 * (StatusMetricExporter); the reader gets the first failure, after every part was tried.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type {
  AggregationOption,
  AggregationTemporality,
  InstrumentType,
  MetricData,
  PushMetricExporter,
  ResourceMetrics,
  ScopeMetrics,
} from '@opentelemetry/sdk-metrics';

/** `metrics` cut into parts of at most maxPoints data points; a metric with more is split across parts */
export function splitResourceMetrics(metrics: ResourceMetrics, maxPoints: number): ResourceMetrics[] {
  const parts: ResourceMetrics[] = [];
  let scopes: ScopeMetrics[] = [];
  let room = maxPoints;
  const flush = () => {
    if (scopes.length) parts.push({ resource: metrics.resource, scopeMetrics: scopes });
    scopes = [];
    room = maxPoints;
  };
  for (const scope of metrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      let from = 0;
      do {
        if (room === 0) flush();
        const n = Math.min(room, metric.dataPoints.length - from);
        const piece = { ...metric, dataPoints: metric.dataPoints.slice(from, from + n) } as MetricData;
        const last = scopes.at(-1);
        if (last?.scope === scope.scope) last.metrics.push(piece);
        else scopes.push({ scope: scope.scope, metrics: [piece] });
        from += n;
        room -= n;
      } while (from < metric.dataPoints.length);
    }
  }
  flush();
  return parts.length ? parts : [metrics];
}

export class SplitMetricExporter implements PushMetricExporter {
  constructor(
    private readonly inner: PushMetricExporter,
    private readonly maxPoints: number,
  ) {}

  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    const parts = splitResourceMetrics(metrics, this.maxPoints);
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
