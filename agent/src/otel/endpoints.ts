/** Where the OTLP exporters send, derived from the config (OTLP exporter spec rules). */
import type { KotelConfig } from '../config';

export interface OtlpTargets {
  protocol: 'grpc' | 'http/protobuf';
  /** URL handed to the metric exporter */
  metricsUrl: string;
  /** URL handed to the trace exporter */
  tracesUrl: string;
  /** short form for log lines: host:port (grpc) or the origin, http://host:port (http) */
  metricsLabel: string;
  tracesLabel: string;
}

function withScheme(e: string): string {
  return /^[a-z][\w+.-]*:\/\//i.test(e) ? e : `http://${e}`;
}

function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

function hostPort(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/**
 * grpc: otlp.endpoint (default localhost:4317); no scheme or http:// → plaintext, https:// → TLS.
 * http/protobuf: otlp.endpoint (default http://localhost:4318) + /v1/metrics or /v1/traces.
 * otlp.metricsEndpoint / otlp.tracesEndpoint are used as they are.
 */
export function otlpTargets(config: KotelConfig): OtlpTargets {
  const { protocol, endpoint, metricsEndpoint, tracesEndpoint } = config.otlp;
  if (protocol === 'grpc') {
    const base = withScheme(endpoint || 'localhost:4317');
    const m = metricsEndpoint ? withScheme(metricsEndpoint) : base;
    const t = tracesEndpoint ? withScheme(tracesEndpoint) : base;
    return { protocol, metricsUrl: m, tracesUrl: t, metricsLabel: hostPort(m), tracesLabel: hostPort(t) };
  }
  const base = withScheme(endpoint || 'http://localhost:4318').replace(/\/+$/, '');
  const m = metricsEndpoint ? withScheme(metricsEndpoint) : `${base}/v1/metrics`;
  const t = tracesEndpoint ? withScheme(tracesEndpoint) : `${base}/v1/traces`;
  return { protocol, metricsUrl: m, tracesUrl: t, metricsLabel: origin(m), tracesLabel: origin(t) };
}
