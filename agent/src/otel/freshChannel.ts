/**
 * A new OTLP/gRPC exporter (so a new gRPC channel) after every export that found no connection.
 *
 * grpc-js keeps a channel whose connection failed in reconnect back-off (1 s, x1.6 per failure, up to
 * 120 s) and fails every call at once until the back-off ends; the OTel gRPC exporter passes no channel
 * option through to shorten it. After a 40 s outage the first export reached the recovered collector
 * 23 s late, and a shutdown flush during back-off delivered nothing. A fresh channel connects when its
 * first call starts, so exports resume at the first export after the collector is back, as with HTTP.
 */
import type { ExportResult } from '@opentelemetry/core';
import type { AggregationTemporality, InstrumentType, PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** gRPC status UNAVAILABLE: no connection (refused, reset, TLS handshake failed) */
const GRPC_UNAVAILABLE = 14;

function noConnection(result: ExportResult): boolean {
  return (result.error as { code?: unknown } | undefined)?.code === GRPC_UNAVAILABLE;
}

interface Exporter<T> {
  export(items: T, resultCallback: (result: ExportResult) => void): void;
  forceFlush?(): Promise<void>;
  shutdown(): Promise<void>;
}

class FreshChannel<T, E extends Exporter<T>> {
  protected current: E;
  /** shutdowns of replaced exporters (each waits for its exports in flight) */
  private retiring = new Set<Promise<void>>();

  constructor(protected readonly make: () => E) {
    this.current = make();
  }

  export(items: T, resultCallback: (result: ExportResult) => void): void {
    const used = this.current;
    used.export(items, (result) => {
      if (noConnection(result) && used === this.current) {
        this.current = this.make();
        const done = used.shutdown().catch(() => undefined);
        this.retiring.add(done);
        void done.then(() => this.retiring.delete(done));
      }
      resultCallback(result);
    });
  }

  forceFlush(): Promise<void> {
    return this.current.forceFlush ? this.current.forceFlush() : Promise.resolve();
  }

  async shutdown(): Promise<void> {
    await Promise.all([this.current.shutdown(), ...this.retiring]);
  }
}

export class FreshChannelMetricExporter extends FreshChannel<ResourceMetrics, PushMetricExporter> implements PushMetricExporter {
  selectAggregationTemporality(instrumentType: InstrumentType): AggregationTemporality {
    return this.current.selectAggregationTemporality!(instrumentType);
  }

  selectAggregation(instrumentType: InstrumentType) {
    return this.current.selectAggregation!(instrumentType);
  }
}

export class FreshChannelSpanExporter extends FreshChannel<ReadableSpan[], SpanExporter> implements SpanExporter {}
