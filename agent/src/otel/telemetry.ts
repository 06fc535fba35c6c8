/**
 * The OpenTelemetry output side: one MeterProvider with up to three readers (OTLP push, Prometheus pull,
 * console report) plus one pulled for the JSON report, and one BasicTracerProvider with an OTLP span exporter. Kernel data enters through
 * MetricProducers: producerFor() is called once per reader with that reader's temporality and histogram
 * aggregation (OTLP: metrics.histogramAggregation; Prometheus: classic buckets; the console: exponential, for
 * its percentiles), so each reader gets its own producer instance (delta state is per reader).
 */
import * as fs from 'node:fs';
import type { Logger } from 'pino';
import { OTLPMetricExporter as OTLPMetricExporterGrpc } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as OTLPMetricExporterProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as OTLPTraceExporterGrpc } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as OTLPTraceExporterProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { createEmptyMetadata, createSslCredentials } from '@opentelemetry/otlp-grpc-exporter-base';
import type { Resource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  InstrumentType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type IMetricReader,
  type MetricProducer,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, type ReadableSpan, type Sampler, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ConfigError, parseKeyValueList, type HistogramAggregation, type KotelConfig, type TemporalityPreference } from '../config';
import { ConsoleReportReader } from './ConsoleReportReader';
import { CountingBatchSpanProcessor } from './CountingBatchSpanProcessor';
import { routeOtelDiagnostics } from './diag';
import { otlpTargets } from './endpoints';
import { ExportStatus, StatusMetricExporter, StatusSpanExporter, type ExportResultListener } from './exportStatus';
import { FreshChannelMetricExporter, FreshChannelSpanExporter } from './freshChannel';
import { SplitMetricExporter } from './splitExport';
import { startPrometheusEndpoint, type PrometheusEndpoint, type Readiness } from './prometheusEndpoint';
import { ReportReader } from './report';
import { createResource } from './resource';

/** span queue bound: spans beyond it are dropped (counted: span_queue_full), memory stays flat */
export const SPAN_MAX_QUEUE_SIZE = 2048;
export const SPAN_MAX_EXPORT_BATCH_SIZE = 512;
export const SPAN_SCHEDULED_DELAY_MS = 5000;
/** OTLP requests in flight at once per exporter; more exports fail fast instead of piling up */
export const OTLP_CONCURRENCY_LIMIT = 2;
/** spans: a flush sends the whole queue at once (4 batches), plus the batch that may be in flight */
export const OTLP_SPAN_CONCURRENCY_LIMIT = Math.ceil(SPAN_MAX_QUEUE_SIZE / SPAN_MAX_EXPORT_BATCH_SIZE) + 1;

export interface TelemetryOptions {
  /** a fresh MetricProducer for a reader with this temporality and histogram aggregation (undefined: none) */
  producerFor: (temporality: AggregationTemporality, histograms: HistogramAggregation) => MetricProducer | undefined;
  logger: Logger;
  onExportResult?: ExportResultListener;
  /** a span that found the span queue full (SPAN_MAX_QUEUE_SIZE spans waiting for export) */
  onSpanDropped?: (span: ReadableSpan) => void;
  /** console report destination (tests); default stdout */
  consoleWrite?: (block: string) => void;
  /** the resource; default createResource(config) */
  resource?: Resource;
  /** what /readyz answers */
  readiness?: () => Readiness;
  /** what /report answers (a JSON value) */
  report?: () => Promise<unknown>;
  /** the tracer provider's sampler (default: every span) */
  sampler?: Sampler;
}

export interface Telemetry {
  meterProvider: MeterProvider;
  tracerProvider: BasicTracerProvider;
  resource: Resource;
  console?: ConsoleReportReader;
  /** every metric now (cumulative, exponential histograms), for the report; undefined with sdk.disabled */
  snapshot(): Promise<ResourceMetrics | undefined>;
  /** resolves once the Prometheus endpoint listens (or failed: logged, the agent runs without it); never rejects */
  ready: Promise<void>;
  forceFlush(): Promise<void>;
  /** final export and stop; idempotent, never rejects */
  shutdown(): Promise<void>;
}

/** temporality of the kernel producer behind the OTLP reader */
export function producerTemporality(pref: TemporalityPreference): AggregationTemporality {
  // lowmemory keeps asynchronous (observable) data cumulative; kernel maps are cumulative by nature
  return pref === 'delta' ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;
}

/** the OTLP spec's temporality preferences, as selectors */
export function temporalitySelector(pref: TemporalityPreference): (t: InstrumentType) => AggregationTemporality {
  const { DELTA, CUMULATIVE } = AggregationTemporality;
  switch (pref) {
    case 'delta':
      return (t) => (t === InstrumentType.UP_DOWN_COUNTER || t === InstrumentType.OBSERVABLE_UP_DOWN_COUNTER ? CUMULATIVE : DELTA);
    case 'lowmemory':
      return (t) => (t === InstrumentType.COUNTER || t === InstrumentType.HISTOGRAM ? DELTA : CUMULATIVE);
    default:
      return () => CUMULATIVE;
  }
}

function producers(options: TelemetryOptions, t: AggregationTemporality, h: HistogramAggregation): MetricProducer[] | undefined {
  const p = options.producerFor(t, h);
  return p ? [p] : undefined;
}

/** the PEM files of otlp.tls.*, read now: a file that went away since the config was checked is one line naming the key */
function tlsFiles(config: KotelConfig): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const read = (key: 'ca' | 'cert' | 'key'): Buffer | undefined => {
    const file = config.otlp.tls[key];
    if (!file) return undefined;
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new ConfigError(
        `config error: otlp.tls.${key} = ${JSON.stringify(file)}: cannot read it (${(e as Error).message})`,
        `otlp.tls.${key}`,
      );
    }
  };
  return { ca: read('ca'), cert: read('cert'), key: read('key') };
}

function otlpExporters(config: KotelConfig): { metrics: PushMetricExporter; traces?: SpanExporter } {
  const targets = otlpTargets(config);
  const headers = parseKeyValueList(config.otlp.headers);
  const timeoutMillis = config.otlp.timeout;
  const common = { timeoutMillis, concurrencyLimit: OTLP_CONCURRENCY_LIMIT };
  const spanCommon = { timeoutMillis, concurrencyLimit: OTLP_SPAN_CONCURRENCY_LIMIT };
  // TLS for https:// endpoints, from otlp.tls.* alone (the exporters' own reading of OTEL_EXPORTER_OTLP_*
  // certificate variables is bypassed so that both protocols and both signals behave the same)
  const tls = tlsFiles(config);
  const https = (url: string) => url.startsWith('https://');
  if (targets.protocol === 'grpc') {
    const metadata = () => {
      const md = createEmptyMetadata();
      for (const [k, v] of Object.entries(headers)) md.set(k, v);
      return md;
    };
    const credentials = (url: string) => (https(url) ? { credentials: createSslCredentials(tls.ca, tls.key, tls.cert) } : {});
    return {
      metrics: new FreshChannelMetricExporter(
        () => new OTLPMetricExporterGrpc({ ...common, url: targets.metricsUrl, metadata: metadata(), ...credentials(targets.metricsUrl) }),
      ),
      traces: config.otlp.traces
        ? new FreshChannelSpanExporter(
            () =>
              new OTLPTraceExporterGrpc({ ...spanCommon, url: targets.tracesUrl, metadata: metadata(), ...credentials(targets.tracesUrl) }),
          )
        : undefined,
    };
  }
  const httpAgentOptions = { keepAlive: true, ca: tls.ca, cert: tls.cert, key: tls.key };
  return {
    metrics: new OTLPMetricExporterProto({ ...common, url: targets.metricsUrl, headers, httpAgentOptions }),
    traces: config.otlp.traces
      ? new OTLPTraceExporterProto({ ...spanCommon, url: targets.tracesUrl, headers, httpAgentOptions })
      : undefined,
  };
}

export function createTelemetry(config: KotelConfig, options: TelemetryOptions): Telemetry {
  const { logger } = options;
  routeOtelDiagnostics(logger);
  const resource = options.resource ?? createResource(config);
  const readers: IMetricReader[] = [];
  const spanProcessors: SpanProcessor[] = [];
  let prometheus: PrometheusEndpoint | undefined;
  let consoleReader: ConsoleReportReader | undefined;
  let reportReader: ReportReader | undefined;
  let ready: Promise<void> = Promise.resolve();

  if (!config.sdk.disabled) {
    if (config.otlp.enabled) {
      const targets = otlpTargets(config);
      const exporters = otlpExporters(config);
      const label = (u: string) => `${u} (${targets.protocol})`;
      const metricStatus = new ExportStatus(
        logger,
        label(targets.metricsLabel),
        targets.metricsLabel,
        config.metrics.interval,
        options.onExportResult,
      );
      // same collector for both signals: share the status so a dead collector warns once in total
      const traceStatus =
        targets.tracesLabel === targets.metricsLabel
          ? metricStatus
          : new ExportStatus(logger, label(targets.tracesLabel), targets.tracesLabel, SPAN_SCHEDULED_DELAY_MS, options.onExportResult);
      readers.push(
        new PeriodicExportingMetricReader({
          exporter: new SplitMetricExporter(
            new StatusMetricExporter(exporters.metrics, metricStatus, temporalitySelector(config.otlp.temporality)),
            config.otlp.maxRequestBytes,
          ),
          exportIntervalMillis: config.metrics.interval,
          // the SDK requires timeout <= interval
          exportTimeoutMillis: Math.min(config.otlp.timeout, config.metrics.interval),
          metricProducers: producers(options, producerTemporality(config.otlp.temporality), config.metrics.histogramAggregation),
        }),
      );
      if (exporters.traces) {
        spanProcessors.push(
          new CountingBatchSpanProcessor(
            new StatusSpanExporter(exporters.traces, traceStatus),
            {
              maxQueueSize: SPAN_MAX_QUEUE_SIZE,
              maxExportBatchSize: SPAN_MAX_EXPORT_BATCH_SIZE,
              scheduledDelayMillis: SPAN_SCHEDULED_DELAY_MS,
              exportTimeoutMillis: config.otlp.timeout,
            },
            (span) => options.onSpanDropped?.(span),
          ),
        );
      }
    }
    if (config.prometheus.enabled) {
      prometheus = startPrometheusEndpoint(
        config.prometheus.host,
        config.prometheus.port,
        producers(options, AggregationTemporality.CUMULATIVE, 'explicit'),
        options.readiness ?? (() => ({ ready: true, detail: 'no readiness source' })),
        options.report,
        logger,
      );
      readers.push(prometheus.reader);
      ready = prometheus.listening;
    }
    if (config.console.enabled) {
      consoleReader = new ConsoleReportReader({
        intervalMillis: config.console.interval,
        metricProducers: producers(options, AggregationTemporality.CUMULATIVE, 'exponential'),
        write: options.consoleWrite,
        onError: (err) => logger.debug({ err }, 'console report failed'),
      });
      readers.push(consoleReader);
    }
    // pulled only when a report is asked for: no cost otherwise
    reportReader = new ReportReader(producers(options, AggregationTemporality.CUMULATIVE, 'exponential'));
    readers.push(reportReader);
  }

  const meterProvider = new MeterProvider({ resource, readers: readers as never });
  const tracerProvider = new BasicTracerProvider({ resource, spanProcessors, ...(options.sampler ? { sampler: options.sampler } : {}) });

  let shutdownPromise: Promise<void> | undefined;
  return {
    meterProvider,
    tracerProvider,
    resource,
    console: consoleReader,
    async snapshot() {
      if (!reportReader) return undefined;
      const { resourceMetrics, errors } = await reportReader.collect();
      if (errors.length) logger.debug({ errors }, 'report collection errors');
      return resourceMetrics;
    },
    ready,
    async forceFlush() {
      await Promise.all([
        meterProvider.forceFlush().catch((err) => logger.debug({ err }, 'metrics flush failed')),
        tracerProvider.forceFlush().catch((err) => logger.debug({ err }, 'span flush failed')),
      ]);
    },
    shutdown() {
      shutdownPromise ??= (async () => {
        await ready;
        await Promise.all([
          meterProvider.shutdown().catch((err) => logger.debug({ err }, 'meter provider shutdown failed')),
          tracerProvider.shutdown().catch((err) => logger.debug({ err }, 'tracer provider shutdown failed')),
          prometheus?.close(),
        ]);
      })();
      return shutdownPromise;
    },
  };
}
