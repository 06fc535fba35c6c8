/**
 * A real OTLP receiver for tests: gRPC (MetricsService/Export, TraceService/Export) and HTTP/protobuf
 * (POST /v1/metrics, /v1/traces), decoding with protobufjs from the .proto files under
 * test/fixtures/otlp/ — independent of the exporters' own serializers.
 *
 * int64 handling: protobufjs decodes 64-bit fields as Long; we convert them with toObject({longs: String})
 * and then: timestamps (…UnixNano) → bigint, counts and integer values → number (exact below 2^53, which
 * test data never exceeds).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { scaled } from './timing';

export type AttrValue = string | number | boolean;

export interface DecodedPoint {
  name: string;
  unit: string;
  description: string;
  kind: 'sum' | 'gauge' | 'histogram' | 'exponentialHistogram';
  monotonic?: boolean;
  /** 'delta' | 'cumulative' */
  temporality?: 'delta' | 'cumulative' | 'unspecified';
  scope: string;
  attributes: Record<string, AttrValue>;
  value?: number;
  bounds?: number[];
  counts?: number[];
  count?: number;
  sum?: number;
  min?: number;
  max?: number;
  /** exponential histograms */
  scale?: number;
  zeroCount?: number;
  positive?: { offset: number; counts: number[] };
  startTimeUnixNano: bigint;
  timeUnixNano: bigint;
  /** which transport brought it */
  via: 'grpc' | 'http';
}

export interface DecodedSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  kind: string;
  scope: string;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Record<string, AttrValue>;
  events: Array<{ name: string; attributes: Record<string, AttrValue> }>;
  status: { code: string; message: string };
  via: 'grpc' | 'http';
}

export interface DecodedResource {
  signal: 'metrics' | 'traces';
  attributes: Record<string, AttrValue>;
  via: 'grpc' | 'http';
}

export interface OtlpReceiver {
  grpcPort: number;
  httpPort: number;
  metrics(): DecodedPoint[];
  spans(): DecodedSpan[];
  resources(): DecodedResource[];
  /** number of export requests received, by signal */
  requests(): { metrics: number; traces: number };
  /** clears what was received */
  reset(): void;
  /** how it answers from now on (default: at once, with success) */
  behave(b: ReceiverBehaviour): void;
  /** closes both listeners (a collector outage); what was received is kept */
  stop(): Promise<void>;
  /** listens again on the same ports */
  restart(): Promise<void>;
  /** polls fn every 25 ms until it returns something other than undefined/false; timeoutMs is stretched by scaled() */
  waitFor<T>(fn: () => T | undefined | false, timeoutMs: number, what: string): Promise<T>;
  close(): Promise<void>;
}

export interface OtlpReceiverOptions {
  /** 0 (default): any free port */
  grpcPort?: number;
  httpPort?: number;
  host?: string;
  /** serve gRPC over TLS and HTTPS instead of HTTP, with this certificate (PEM) */
  tls?: {
    cert: Buffer;
    key: Buffer;
    /** CA of the client certificates: with it, a client without one is refused (mTLS) */ clientCa?: Buffer;
  };
}

export interface ReceiverBehaviour {
  /** answer each export this much later (a slow collector) */
  delayMs?: number;
  /** refuse each export: gRPC UNAVAILABLE, HTTP 503 (an overloaded collector) */
  fail?: boolean;
}

const FIXTURES = path.resolve(__dirname, '../../../test/fixtures/otlp');

let root: protobuf.Root | undefined;
function protoRoot(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  r.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(FIXTURES, target));
  r.loadSync(
    ['opentelemetry/proto/collector/metrics/v1/metrics_service.proto', 'opentelemetry/proto/collector/trace/v1/trace_service.proto'],
    { keepCase: false },
  );
  r.resolveAll();
  return (root = r);
}

function types() {
  const r = protoRoot();
  return {
    metricsReq: r.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest'),
    metricsRes: r.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse'),
    tracesReq: r.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
    tracesRes: r.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
  };
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, bytes: String, defaults: false, oneofs: true };

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function anyValue(v: Obj | undefined): AttrValue {
  if (!v) return '';
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue !== undefined) return JSON.stringify((v.arrayValue.values ?? []).map(anyValue));
  if (v.bytesValue !== undefined) return Buffer.from(v.bytesValue, 'base64').toString('hex');
  return JSON.stringify(v);
}

function attrs(list: Obj[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const kv of list ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

const big = (v: unknown): bigint => (v === undefined ? 0n : BigInt(String(v)));
const num = (v: unknown): number | undefined => (v === undefined ? undefined : Number(v));
const hex = (b64: string | undefined): string => (b64 ? Buffer.from(b64, 'base64').toString('hex') : '');

function temporalityOf(t: string | undefined): DecodedPoint['temporality'] {
  if (t === 'AGGREGATION_TEMPORALITY_DELTA') return 'delta';
  if (t === 'AGGREGATION_TEMPORALITY_CUMULATIVE') return 'cumulative';
  return 'unspecified';
}

function decodeMetrics(req: Obj, via: 'grpc' | 'http', points: DecodedPoint[], resources: DecodedResource[]): void {
  for (const rm of req.resourceMetrics ?? []) {
    resources.push({ signal: 'metrics', attributes: attrs(rm.resource?.attributes), via });
    for (const sm of rm.scopeMetrics ?? []) {
      const scope = sm.scope?.name ?? '';
      for (const m of sm.metrics ?? []) {
        const base = { name: m.name, unit: m.unit ?? '', description: m.description ?? '', scope, via };
        if (m.sum || m.gauge) {
          const data = m.sum ?? m.gauge;
          for (const p of data.dataPoints ?? []) {
            points.push({
              ...base,
              kind: m.sum ? 'sum' : 'gauge',
              monotonic: m.sum ? Boolean(m.sum.isMonotonic) : undefined,
              temporality: m.sum ? temporalityOf(m.sum.aggregationTemporality) : undefined,
              attributes: attrs(p.attributes),
              value: p.asDouble !== undefined ? p.asDouble : num(p.asInt),
              startTimeUnixNano: big(p.startTimeUnixNano),
              timeUnixNano: big(p.timeUnixNano),
            });
          }
        } else if (m.histogram) {
          for (const p of m.histogram.dataPoints ?? []) {
            points.push({
              ...base,
              kind: 'histogram',
              temporality: temporalityOf(m.histogram.aggregationTemporality),
              attributes: attrs(p.attributes),
              bounds: (p.explicitBounds ?? []).map(Number),
              counts: (p.bucketCounts ?? []).map(Number),
              count: num(p.count) ?? 0,
              sum: p.sum,
              min: p.min,
              max: p.max,
              startTimeUnixNano: big(p.startTimeUnixNano),
              timeUnixNano: big(p.timeUnixNano),
            });
          }
        } else if (m.exponentialHistogram) {
          for (const p of m.exponentialHistogram.dataPoints ?? []) {
            points.push({
              ...base,
              kind: 'exponentialHistogram',
              temporality: temporalityOf(m.exponentialHistogram.aggregationTemporality),
              attributes: attrs(p.attributes),
              count: num(p.count) ?? 0,
              sum: p.sum,
              min: p.min,
              max: p.max,
              scale: p.scale ?? 0,
              zeroCount: num(p.zeroCount) ?? 0,
              positive: { offset: p.positive?.offset ?? 0, counts: (p.positive?.bucketCounts ?? []).map(Number) },
              startTimeUnixNano: big(p.startTimeUnixNano),
              timeUnixNano: big(p.timeUnixNano),
            });
          }
        }
      }
    }
  }
}

function decodeTraces(req: Obj, via: 'grpc' | 'http', spans: DecodedSpan[], resources: DecodedResource[]): void {
  for (const rs of req.resourceSpans ?? []) {
    resources.push({ signal: 'traces', attributes: attrs(rs.resource?.attributes), via });
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        spans.push({
          name: s.name,
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          kind: s.kind ?? 'SPAN_KIND_UNSPECIFIED',
          scope: ss.scope?.name ?? '',
          startTimeUnixNano: big(s.startTimeUnixNano),
          endTimeUnixNano: big(s.endTimeUnixNano),
          attributes: attrs(s.attributes),
          events: (s.events ?? []).map((e: Obj) => ({ name: e.name, attributes: attrs(e.attributes) })),
          status: { code: s.status?.code ?? 'STATUS_CODE_UNSET', message: s.status?.message ?? '' },
          via,
        });
      }
    }
  }
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      try {
        if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
        resolve(body);
      } catch (e) {
        reject(e);
      }
    });
    req.on('error', reject);
  });
}

export async function startOtlpReceiver(options: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const t = types();
  const host = options.host ?? '127.0.0.1';
  let points: DecodedPoint[] = [];
  let spans: DecodedSpan[] = [];
  let resources: DecodedResource[] = [];
  const counts = { metrics: 0, traces: 0 };

  const onMetrics = (buf: Buffer, via: 'grpc' | 'http') => {
    counts.metrics++;
    decodeMetrics(t.metricsReq.toObject(t.metricsReq.decode(buf), TO_OBJECT), via, points, resources);
  };
  const onTraces = (buf: Buffer, via: 'grpc' | 'http') => {
    counts.traces++;
    decodeTraces(t.tracesReq.toObject(t.tracesReq.decode(buf), TO_OBJECT), via, spans, resources);
  };

  let behaviour: ReceiverBehaviour = {};
  /** runs the answer after behaviour.delayMs; what arrived counts only if the client still waits for it */
  const answer = (stillWaiting: () => boolean, accept: () => void, reply: (ok: boolean) => void) => {
    const { delayMs = 0, fail = false } = behaviour;
    const go = () => {
      if (!stillWaiting()) return;
      if (!fail) accept();
      reply(!fail);
    };
    if (delayMs > 0) setTimeout(go, delayMs);
    else go();
  };

  // gRPC: raw Buffers in and out, decoded by protobufjs
  const raw = (b: Buffer) => b;
  const method = (pathName: string) => ({
    path: pathName,
    requestStream: false,
    responseStream: false,
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw,
  });
  const grpcExport =
    (onData: (buf: Buffer, via: 'grpc') => void, res: protobuf.Type) =>
    (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      let decodeError: unknown;
      answer(
        () => !call.cancelled,
        () => {
          try {
            onData(call.request, 'grpc');
          } catch (e) {
            decodeError = e;
          }
        },
        (ok) => {
          if (!ok) cb({ code: grpc.status.UNAVAILABLE, details: 'test receiver refuses exports' });
          else if (decodeError) cb({ code: grpc.status.INVALID_ARGUMENT, details: String(decodeError) });
          else cb(null, Buffer.from(res.encode(res.create({})).finish()));
        },
      );
    };
  const grpcCredentials = options.tls
    ? grpc.ServerCredentials.createSsl(
        options.tls.clientCa ?? null,
        [{ cert_chain: options.tls.cert, private_key: options.tls.key }],
        options.tls.clientCa !== undefined,
      )
    : grpc.ServerCredentials.createInsecure();
  let server: grpc.Server;
  const listenGrpc = (port: number) => {
    server = new grpc.Server();
    server.addService({ Export: method('/opentelemetry.proto.collector.metrics.v1.MetricsService/Export') } as grpc.ServiceDefinition, {
      Export: grpcExport(onMetrics, t.metricsRes),
    });
    server.addService({ Export: method('/opentelemetry.proto.collector.trace.v1.TraceService/Export') } as grpc.ServiceDefinition, {
      Export: grpcExport(onTraces, t.tracesRes),
    });
    return new Promise<number>((resolve, reject) =>
      server.bindAsync(`${host}:${port}`, grpcCredentials, (err, bound) => (err ? reject(err) : resolve(bound))),
    );
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const route = req.method === 'POST' ? req.url?.split('?')[0] : undefined;
    if (route !== '/v1/metrics' && route !== '/v1/traces') {
      res.writeHead(404).end();
      return;
    }
    readBody(req).then(
      (body) => {
        let decodeError: unknown;
        answer(
          () => !res.destroyed,
          () => {
            try {
              if (route === '/v1/metrics') onMetrics(body, 'http');
              else onTraces(body, 'http');
            } catch (e) {
              decodeError = e;
            }
          },
          (ok) => {
            if (!ok) res.writeHead(503, { 'content-type': 'text/plain' }).end('test receiver refuses exports');
            else if (decodeError) res.writeHead(400, { 'content-type': 'text/plain' }).end(String(decodeError));
            else {
              const resType = route === '/v1/metrics' ? t.metricsRes : t.tracesRes;
              res.writeHead(200, { 'content-type': 'application/x-protobuf' });
              res.end(Buffer.from(resType.encode(resType.create({})).finish()));
            }
          },
        );
      },
      () => res.writeHead(400).end(),
    );
  };
  const httpServer = options.tls
    ? https.createServer(
        {
          cert: options.tls.cert,
          key: options.tls.key,
          ca: options.tls.clientCa,
          requestCert: options.tls.clientCa !== undefined,
          rejectUnauthorized: true,
        },
        onRequest,
      )
    : http.createServer(onRequest);
  const listenHttp = (port: number) =>
    new Promise<number>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(port, host, () => {
        httpServer.off('error', reject);
        resolve((httpServer.address() as { port: number }).port);
      });
    });
  const stop = async () => {
    server.forceShutdown();
    httpServer.closeAllConnections();
    await new Promise<void>((resolve) => httpServer.close(() => resolve()));
  };

  const grpcPort = await listenGrpc(options.grpcPort ?? 0);
  const httpPort = await listenHttp(options.httpPort ?? 0);

  return {
    grpcPort,
    httpPort,
    metrics: () => points.slice(),
    spans: () => spans.slice(),
    resources: () => resources.slice(),
    requests: () => ({ ...counts }),
    reset() {
      points = [];
      spans = [];
      resources = [];
      counts.metrics = 0;
      counts.traces = 0;
    },
    behave(b) {
      behaviour = { ...b };
    },
    stop,
    async restart() {
      await listenGrpc(grpcPort);
      await listenHttp(httpPort);
    },
    async waitFor<T>(fn: () => T | undefined | false, unscaledMs: number, what: string): Promise<T> {
      const timeoutMs = scaled(unscaledMs);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = fn();
        if (v !== undefined && v !== false) return v as T;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async close() {
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      await stop();
    },
  };
}
