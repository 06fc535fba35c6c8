/**
 * Wrappers around the OTLP exporters that turn export results into a calm log:
 *  - first failure after a success (or at start): ONE warning naming the collector, the reason and the fix;
 *  - further failures: debug only;
 *  - first success after failures: one info line "OTLP export to <endpoint> recovered".
 * Every result is also reported through onExportResult so the agent can count what was dropped.
 * The SDK retries inside one export (bounded by otlp.timeout); between exports nothing is queued for
 * metrics (cumulative data is re-sent whole at the next interval) and spans wait in the
 * BatchSpanProcessor's bounded queue.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { PushMetricExporter, ResourceMetrics, InstrumentType, AggregationTemporality } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Logger } from 'pino';

/** errors an exporter already reported here: the global error handler logs them at debug only */
export const reportedExportErrors = new WeakSet<object>();

export type ExportSignal = 'metrics' | 'traces';
export type ExportResultListener = (signal: ExportSignal, ok: boolean, items: number, error?: Error) => void;

/** one line of an error: gRPC and fetch errors carry multi-line details */
export function errorReason(err: unknown): string {
  if (!err) return 'unknown error';
  const e = err as { message?: string; code?: unknown; details?: string };
  let msg = typeof e.message === 'string' && e.message ? e.message : String(err);
  // fetch/undici style: the interesting part is the cause
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause && (cause.code || cause.message) && !msg.includes(String(cause.code ?? ''))) {
    msg += ` (${cause.code ?? cause.message})`;
  }
  msg = msg.split('\n')[0].trim();
  // gRPC: "14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 1.2.3.4:4317. ..."
  const grpc = /^(\d+) ([A-Z_]+):/.exec(msg);
  const sys = /((?:connect|getaddrinfo|read|write) E[A-Z]+(?: [^\s,;]+?)?)(?:\.\s|\.?$|[,;])/.exec(msg);
  if (grpc && sys) return `${sys[1]} (gRPC ${grpc[2]})`;
  // OpenSSL: "806C...:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/..."
  const ssl = /SSL routines:[^:]*:([^:]+):/.exec(msg);
  if (ssl) return `TLS: ${ssl[1]}${grpc ? ` (gRPC ${grpc[2]})` : ''}`;
  return msg.replace(/\s*Resolution note:\s*$/, '');
}

/** Shared by the metric and span exporters of one collector, so a dead collector warns once in total. */
export class ExportStatus {
  private failing = false;
  private warned = false;
  private failures = 0;

  constructor(
    private readonly logger: Logger,
    /** e.g. 'localhost:4317 (grpc)' */
    private readonly endpointLabel: string,
    /** e.g. 'localhost:4317' */
    private readonly endpoint: string,
    private readonly retryEveryMs: number,
    private readonly listener?: ExportResultListener,
  ) {}

  get isFailing(): boolean {
    return this.failing;
  }

  record(signal: ExportSignal, result: ExportResult, items: number): void {
    const ok = result.code === ExportResultCode.SUCCESS;
    if (!ok && result.error) reportedExportErrors.add(result.error);
    try {
      this.listener?.(signal, ok, items, ok ? undefined : (result.error ?? new Error('export failed')));
    } catch (err) {
      this.logger.debug({ err }, 'onExportResult listener threw');
    }
    if (ok) {
      if (this.failing) {
        this.failing = false;
        this.logger.info(`OTLP export to ${this.endpoint} recovered (after ${this.failures} failed exports)`);
        this.failures = 0;
        // warn again if it fails again later: that is news
        this.warned = false;
      }
      return;
    }
    this.failures++;
    const reason = errorReason(result.error);
    if (!this.failing && !this.warned) {
      this.warned = true;
      const fix = /certificate|SSL|TLS/i.test(reason)
        ? "set otlp.tls.ca to the CA of the collector's certificate, otlp.tls.cert/key if it requires a client certificate"
        : 'set otlp.endpoint or --no-otlp';
      this.logger.warn(
        `OTLP collector at ${this.endpointLabel} unreachable: ${reason}; retrying every ` + `${formatInterval(this.retryEveryMs)} (${fix})`,
      );
    } else {
      this.logger.debug(`OTLP ${signal} export to ${this.endpoint} failed again (${this.failures}): ${reason}`);
    }
    this.failing = true;
  }
}

function formatInterval(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** number of data points in one export */
export function countDataPoints(metrics: ResourceMetrics): number {
  let n = 0;
  for (const sm of metrics.scopeMetrics) for (const m of sm.metrics) n += m.dataPoints.length;
  return n;
}

export class StatusMetricExporter implements PushMetricExporter {
  constructor(
    private readonly inner: PushMetricExporter,
    private readonly status: ExportStatus,
    /** overrides the exporter's own temporality choice */
    private readonly temporalitySelector?: (instrumentType: InstrumentType) => AggregationTemporality,
  ) {}

  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    const items = countDataPoints(metrics);
    let done = false;
    const finish = (result: ExportResult) => {
      if (done) return;
      done = true;
      this.status.record('metrics', result, items);
      resultCallback(result);
    };
    try {
      this.inner.export(metrics, finish);
    } catch (err) {
      finish({ code: ExportResultCode.FAILED, error: err as Error });
    }
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  selectAggregationTemporality(instrumentType: InstrumentType): AggregationTemporality {
    if (this.temporalitySelector) return this.temporalitySelector(instrumentType);
    return this.inner.selectAggregationTemporality!(instrumentType);
  }

  selectAggregation(instrumentType: InstrumentType) {
    return this.inner.selectAggregation!(instrumentType);
  }
}

export class StatusSpanExporter implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly status: ExportStatus,
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    let done = false;
    const finish = (result: ExportResult) => {
      if (done) return;
      done = true;
      this.status.record('traces', result, spans.length);
      resultCallback(result);
    };
    try {
      this.inner.export(spans, finish);
    } catch (err) {
      finish({ code: ExportResultCode.FAILED, error: err as Error });
    }
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush ? this.inner.forceFlush() : Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}
