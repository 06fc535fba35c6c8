// Decoding of OTLP export requests with protobufjs from the .proto files under test/fixtures/otlp/ —
// independent of the exporters' own serializers. int64 fields: protobufjs decodes them as Long; we convert
// them with toObject({longs: String}) and then: timestamps (…UnixNano) → bigint, counts and integer values →
// number (exact below 2^53, which test data never exceeds).
import * as path from 'node:path';
import * as protobuf from 'protobufjs';

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
  /** histograms; for exponential ones their buckets in explicit form (otlpDecode.ts explicitForm) */
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

export function otlpTypes() {
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

export function decodeMetrics(buf: Buffer, via: 'grpc' | 'http', points: DecodedPoint[], resources: DecodedResource[]): void {
  const t = otlpTypes().metricsReq;
  const req: Obj = t.toObject(t.decode(buf), TO_OBJECT);
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
              ...explicitForm(p.scale ?? 0, num(p.zeroCount) ?? 0, p.positive?.offset ?? 0, (p.positive?.bucketCounts ?? []).map(Number)),
              startTimeUnixNano: big(p.startTimeUnixNano),
              timeUnixNano: big(p.timeUnixNano),
            });
          }
        }
      }
    }
  }
}

/** an exponential histogram's buckets as explicit bounds and counts (what the tests look values up in):
 * (-inf, 0] holds the zero count, (0, base^offset] nothing, then bucket i is (base^i, base^(i+1)] */
export function explicitForm(scale: number, zeroCount: number, offset: number, counts: number[]): { bounds: number[]; counts: number[] } {
  const edge = (i: number) => 2 ** (i / 2 ** scale);
  return {
    bounds: [0, ...counts.map((_, j) => edge(offset + j)), edge(offset + counts.length)],
    counts: [zeroCount, 0, ...counts, 0],
  };
}

export function decodeTraces(buf: Buffer, via: 'grpc' | 'http', spans: DecodedSpan[], resources: DecodedResource[]): void {
  const t = otlpTypes().tracesReq;
  const req: Obj = t.toObject(t.decode(buf), TO_OBJECT);
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
