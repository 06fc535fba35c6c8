/**
 * The SDK's BatchSpanProcessor, with the spans it would drop for a full queue counted.
 *
 * The BatchSpanProcessor drops spans once maxQueueSize are waiting and keeps the count to itself (a
 * debug/warn log line). This one keeps its own count of the spans between onEnd and the exporter, and
 * hands a span on only while that count is below maxQueueSize, so the inner queue never overflows and
 * every span that does not fit is reported to onDropped.
 */
import type { Context } from '@opentelemetry/api';
import { TraceFlags } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import {
  BatchSpanProcessor,
  type BufferConfig,
  type ReadableSpan,
  type Span,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';

export class CountingBatchSpanProcessor implements SpanProcessor {
  private readonly batch: BatchSpanProcessor;
  /** spans ended and not yet handed to the exporter: the inner queue's length */
  private queued = 0;

  constructor(
    exporter: SpanExporter,
    private readonly config: BufferConfig & { maxQueueSize: number },
    private readonly onDropped: (span: ReadableSpan) => void,
  ) {
    const counted: SpanExporter = {
      export: (spans: ReadableSpan[], resultCallback: (result: ExportResult) => void) => {
        this.queued -= spans.length;
        exporter.export(spans, resultCallback);
      },
      shutdown: () => exporter.shutdown(),
      forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
    };
    this.batch = new BatchSpanProcessor(counted, config);
  }

  onStart(span: Span, parentContext: Context): void {
    this.batch.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    // unsampled spans are not queued (the BatchSpanProcessor skips them)
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0) {
      if (this.queued >= this.config.maxQueueSize) {
        this.onDropped(span);
        return;
      }
      this.queued++;
    }
    this.batch.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.batch.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.batch.shutdown();
  }
}
