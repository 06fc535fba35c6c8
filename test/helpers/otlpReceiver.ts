/**
 * A real OTLP receiver for tests: gRPC (MetricsService/Export, TraceService/Export) and HTTP/protobuf
 * (POST /v1/metrics, /v1/traces), decoded by ./otlpDecode.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import { decodeMetrics, decodeTraces, otlpTypes, type DecodedPoint, type DecodedResource, type DecodedSpan } from './otlpDecode';
import { scaled } from './timing';

export type { AttrValue, DecodedPoint, DecodedResource, DecodedSpan } from './otlpDecode';

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
  const t = otlpTypes();
  const host = options.host ?? '127.0.0.1';
  let points: DecodedPoint[] = [];
  let spans: DecodedSpan[] = [];
  let resources: DecodedResource[] = [];
  const counts = { metrics: 0, traces: 0 };

  const onMetrics = (buf: Buffer, via: 'grpc' | 'http') => {
    counts.metrics++;
    decodeMetrics(buf, via, points, resources);
  };
  const onTraces = (buf: Buffer, via: 'grpc' | 'http') => {
    counts.traces++;
    decodeTraces(buf, via, spans, resources);
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
