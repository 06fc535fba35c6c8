/**
 * The configuration schema: one place that names every key, its type, default, documentation, environment
 * variables and flag. convict reads and validates it (load.ts, formats.ts); the CLI builds its options from
 * it (cli.ts); the README's configuration table is generated from it (docTable.ts). KotelConfig is derived
 * from it. Each probe family's keys live in agent/src/probes/<family>/config.ts, gathered by the registry.
 */
import { familyConfigs, familyNames, type FamilyName } from '../probes/registry';
import { ConfigOf, KeySpec, SchemaNode, fragment } from './spec';

export type { FormatName, KeySpec, SchemaNode } from './spec';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export const OTLP_PROTOCOLS = ['grpc', 'http/protobuf'] as const;
export const TEMPORALITIES = ['cumulative', 'delta', 'lowmemory'] as const;
export const HISTOGRAM_AGGREGATIONS = ['exponential', 'explicit'] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];
export type TemporalityPreference = (typeof TEMPORALITIES)[number];
export type HistogramAggregation = (typeof HISTOGRAM_AGGREGATIONS)[number];

/** Probe families known to the schema (the `--families` flag accepts these): the registry's folders, in order */
export type ConfiguredFamily = FamilyName;
export const FAMILIES: readonly ConfiguredFamily[] = familyNames;

const RAW_SCHEMA = fragment({
  families: familyConfigs,
  otlp: {
    enabled: {
      doc: 'Export metrics (and spans) over OTLP to a collector.',
      format: 'bool',
      default: true,
      flag: { name: '--no-otlp', help: 'do not export over OTLP' },
    },
    endpoint: {
      otelEnv: { name: 'OTEL_EXPORTER_OTLP_ENDPOINT' },
      doc:
        'OTLP collector endpoint. Empty: localhost:4317 for grpc, http://localhost:4318 for http/protobuf. ' +
        'For http/protobuf, /v1/metrics and /v1/traces are appended. No scheme or http:// means plaintext.',
      format: 'endpoint',
      default: '',
      flag: { name: '--otlp-endpoint <url>', help: 'OTLP collector (host:port for grpc, URL for http/protobuf)' },
    },
    metricsEndpoint: {
      otelEnv: { name: 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT' },
      doc: 'Full OTLP endpoint for metrics only (used as is); empty: derived from otlp.endpoint.',
      format: 'endpoint',
      default: '',
    },
    tracesEndpoint: {
      otelEnv: { name: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' },
      doc: 'Full OTLP endpoint for spans only (used as is); empty: derived from otlp.endpoint.',
      format: 'endpoint',
      default: '',
    },
    protocol: {
      otelEnv: { name: 'OTEL_EXPORTER_OTLP_PROTOCOL' },
      doc: 'OTLP transport.',
      format: OTLP_PROTOCOLS,
      default: 'grpc',
      flag: { name: '--otlp-protocol <protocol>', help: 'OTLP transport' },
    },
    headers: {
      otelEnv: { name: 'OTEL_EXPORTER_OTLP_HEADERS' },
      doc: 'Extra OTLP request headers (gRPC metadata), as k=v,k2=v2 with URL-encoded values. Values are never printed (check-config shows them as ***).',
      format: 'kvlist',
      default: '',
      secret: true,
    },
    timeout: {
      otelEnv: { name: 'OTEL_EXPORTER_OTLP_TIMEOUT' },
      doc: 'Timeout of one OTLP export, retries included (ms).',
      format: 'ms',
      min: 1,
      default: 10000,
    },
    maxRequestBytes: {
      doc:
        'Largest OTLP metrics request, as estimated from above: a collection beyond goes as several requests, one ' +
        'after the other. A Collector takes gRPC requests up to 4 MiB by default (max_recv_msg_size_mib); a point ' +
        'takes ~120 bytes, up to ~4 KB for a histogram with all its 768 buckets in use.',
      format: 'int',
      min: 65536,
      default: 3 << 20,
    },
    temporality: {
      otelEnv: { name: 'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE', map: (v) => v.toLowerCase() },
      doc: 'Aggregation temporality of OTLP metrics (Prometheus and the console are always cumulative).',
      format: TEMPORALITIES,
      default: 'cumulative',
    },
    traces: {
      otelEnv: { name: 'OTEL_TRACES_EXPORTER', map: (v) => v.trim().toLowerCase() !== 'none' },
      doc: 'Export spans over OTLP too (not only metrics).',
      format: 'bool',
      default: true,
    },
    tls: {
      ca: {
        otelEnv: { name: 'OTEL_EXPORTER_OTLP_CERTIFICATE' },
        doc: "PEM file of the CA(s) that signed the collector's certificate, for https:// endpoints (gRPC and HTTP); empty: the system's CAs.",
        format: 'file',
        default: '',
      },
      cert: {
        otelEnv: { name: 'OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE' },
        doc: 'PEM file of the client certificate (chain) for collectors that require mTLS; needs otlp.tls.key.',
        format: 'file',
        default: '',
      },
      key: {
        otelEnv: { name: 'OTEL_EXPORTER_OTLP_CLIENT_KEY' },
        doc: 'PEM file of the private key of otlp.tls.cert.',
        format: 'file',
        default: '',
      },
    },
  },
  metrics: {
    interval: {
      otelEnv: { name: 'OTEL_METRIC_EXPORT_INTERVAL' },
      doc: 'Interval between two OTLP metric exports, i.e. kernel map collections (ms).',
      format: 'ms',
      min: 100,
      default: 10000,
    },
    histogramScale: {
      doc:
        'Resolution of every latency histogram: OpenTelemetry exponential-histogram scale, 2^scale buckets per ' +
        'power of two (0-4). A percentile read from it is off by at most 2^(2^-scale) - 1: 4.4% at 4, 9.1% at 3, ' +
        '19% at 2, 41% at 1, 100% at 0 (the README lists the map memory and the cost per event).',
      format: 'int',
      min: 0,
      max: 4,
      default: 4,
    },
    histogramAggregation: {
      doc:
        'How OTLP carries the latency histograms: exponential (base-2 exponential histograms at ' +
        'metrics.histogramScale, which the Collector hands to Prometheus as native histograms) or explicit ' +
        '(the classic buckets of the Prometheus endpoint, for backends without exponential histograms).',
      format: HISTOGRAM_AGGREGATIONS,
      default: 'exponential',
    },
  },
  prometheus: {
    enabled: {
      doc: 'Serve metrics for Prometheus to scrape at http://<host>:<port>/metrics.',
      format: 'bool',
      default: true,
      flag: { name: '--no-prometheus', help: 'no Prometheus endpoint' },
    },
    host: { doc: 'Address the Prometheus endpoint listens on.', format: 'string', default: '127.0.0.1' },
    port: {
      doc: 'Port of the Prometheus endpoint.',
      format: 'port',
      default: 9464,
      flag: { name: '--prometheus-port <port>', help: 'port of the Prometheus endpoint' },
    },
  },
  console: {
    enabled: {
      doc: 'Print a top-like report of all metrics to stdout.',
      format: 'bool',
      default: true,
      flag: { name: '--no-console', help: 'no console report on stdout' },
    },
    interval: { doc: 'Interval between two console reports (ms).', format: 'ms', min: 100, default: 5000 },
  },
  service: {
    name: { otelEnv: { name: 'OTEL_SERVICE_NAME' }, doc: 'service.name resource attribute.', format: 'string', default: 'kotel' },
  },
  resource: {
    attributes: {
      otelEnv: { name: 'OTEL_RESOURCE_ATTRIBUTES' },
      doc: 'Extra resource attributes, as k=v,k2=v2 with URL-encoded values (like OTEL_RESOURCE_ATTRIBUTES).',
      format: 'kvlist',
      default: '',
    },
  },
  sdk: {
    disabled: {
      otelEnv: { name: 'OTEL_SDK_DISABLED' },
      doc: 'Disable the OpenTelemetry SDK: no reader or exporter at all (instruments become no-ops).',
      format: 'bool',
      default: false,
    },
  },
  log: {
    level: {
      doc: 'Log level of the agent (logs go to stderr).',
      format: LOG_LEVELS,
      default: 'info',
      flag: { name: '--log-level <level>', help: 'log level' },
    },
  },
  bpf: {
    runTimeStats: {
      doc: 'Enable the kernel BPF run-time statistics (kernel.bpf_stats_enabled); costs ~20 ns per event.',
      format: 'bool',
      default: false,
    },
    objectDir: {
      doc: "Directory holding the compiled BPF objects; empty: the package's bpf/.output.",
      format: 'string',
      default: '',
    },
    moduleWatchInterval: {
      doc: 'Interval between two checks for the kernel modules of families that could not load without them (ib_core, rdma_cm); such a family loads when its modules appear. 0: never (ms).',
      format: 'ms',
      default: 10000,
    },
  },
});

/** The effective configuration, as loadConfig() returns it. */
export type KotelConfig = ConfigOf<typeof RAW_SCHEMA>;

/** KOTEL_ + the key in upper snake case: families.tcp.maxSockets → KOTEL_FAMILIES_TCP_MAX_SOCKETS */
export function envNameFor(key: string): string {
  return (
    'KOTEL_' +
    key
      .split('.')
      .map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2'))
      .join('_')
      .toUpperCase()
  );
}

export function isKeySpec(n: KeySpec | SchemaNode): n is KeySpec {
  return typeof (n as KeySpec).doc === 'string' && 'default' in n && 'format' in n;
}

function withEnvNames<T extends SchemaNode>(node: T, prefix: string): T {
  const out: SchemaNode = {};
  for (const [k, v] of Object.entries(node)) {
    const key = prefix ? `${prefix}.${k}` : k;
    out[k] = isKeySpec(v) ? { ...v, env: v.env ?? envNameFor(key) } : withEnvNames(v, key);
  }
  return out as T;
}

export const SCHEMA: SchemaNode = withEnvNames(RAW_SCHEMA, '');

/** Every leaf key, in schema order, with its spec. */
export function schemaKeys(node: SchemaNode = SCHEMA, prefix = ''): Array<[string, KeySpec]> {
  const out: Array<[string, KeySpec]> = [];
  for (const [k, v] of Object.entries(node)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (isKeySpec(v)) out.push([key, v]);
    else out.push(...schemaKeys(v, key));
  }
  return out;
}

export function specFor(key: string): KeySpec | undefined {
  let node: KeySpec | SchemaNode | undefined = SCHEMA;
  for (const part of key.split('.')) {
    if (!node || isKeySpec(node) || !Object.prototype.hasOwnProperty.call(node, part)) return undefined;
    node = (node as SchemaNode)[part];
  }
  return node && isKeySpec(node) ? node : undefined;
}

/** a k=v list with every value as *** (secret keys, for printing) */
export function redactKeyValueList(s: string): string {
  return s
    .split(',')
    .map((item) => {
      const eq = item.indexOf('=');
      return eq > 0 ? `${item.slice(0, eq)}=***` : item.trim() ? '***' : item;
    })
    .join(',');
}

/** Parses a k=v,k2=v2 list (OTEL_RESOURCE_ATTRIBUTES / OTEL_EXPORTER_OTLP_HEADERS syntax, values
 * percent-decoded). Throws an Error saying what is wrong. */
export function parseKeyValueList(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  const items = s.split(',');
  for (let i = 0; i < items.length; i++) {
    const item = items[i].trim();
    if (!item) continue;
    const eq = item.indexOf('=');
    // the item itself is not quoted: it may be a secret (a token in a header)
    if (eq <= 0) throw new Error(`item ${i + 1} of the list is not key=value`);
    const k = item.slice(0, eq).trim();
    let v = item.slice(eq + 1).trim();
    try {
      v = decodeURIComponent(v);
    } catch {
      throw new Error(`the value of "${k}" is not valid percent-encoding`);
    }
    out[k] = v;
  }
  return out;
}
