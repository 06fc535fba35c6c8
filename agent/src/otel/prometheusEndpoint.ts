// kotel's HTTP listener (prometheus.host:port): /metrics in the Prometheus text format with the names the
// Collector's prometheus exporter gives kotel's OTLP (prometheusNames.ts), /healthz (the process answers)
// and /readyz (Agent readiness: 200 or 503, with the reason), /report (the JSON report, otel/report.ts). The SDK's PrometheusExporter is the metric
// reader; its own server is not started.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { DataPointType, type MetricData, type MetricProducer, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { prometheusName, type PrometheusKind } from './prometheusNames';

export interface Readiness {
  ready: boolean;
  /** one line: what is attached and exported, or what is still awaited */
  detail: string;
}

export interface PrometheusEndpoint {
  reader: PrometheusExporter;
  /** resolves once listening, or after logging why it cannot (the agent runs without it); never rejects */
  listening: Promise<void>;
  close(): Promise<void>;
}

function kindOf(m: MetricData): PrometheusKind {
  if (m.dataPointType === DataPointType.SUM && m.isMonotonic) return 'counter';
  if (m.dataPointType === DataPointType.HISTOGRAM || m.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM) return 'histogram';
  return 'gauge';
}

class CollectorNamesSerializer extends PrometheusSerializer {
  override serialize(rm: ResourceMetrics): string {
    return super.serialize({
      ...rm,
      scopeMetrics: rm.scopeMetrics.map((s) => ({
        ...s,
        metrics: s.metrics.map((m) => ({
          ...m,
          descriptor: { ...m.descriptor, name: prometheusName(m.descriptor.name, m.descriptor.unit, kindOf(m)) },
        })),
      })),
    });
  }
}

export function startPrometheusEndpoint(
  host: string,
  port: number,
  metricProducers: MetricProducer[] | undefined,
  readiness: () => Readiness,
  report: (() => Promise<unknown>) | undefined,
  logger: Logger,
): PrometheusEndpoint {
  const reader = new PrometheusExporter({ preventServerStart: true, metricProducers });
  const serializer = new CollectorNamesSerializer();
  const reply = (res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8') => {
    res.writeHead(status, { 'content-type': type }).end(body);
  };
  const routes: Record<string, (res: ServerResponse) => void> = {
    '/metrics': (res) =>
      reader.collect().then(
        ({ resourceMetrics, errors }) => {
          if (errors.length) logger.debug({ errors }, 'Prometheus collection errors');
          reply(res, 200, serializer.serialize(resourceMetrics), 'text/plain; version=0.0.4; charset=utf-8');
        },
        (err: Error) => reply(res, 500, `# collection failed: ${err.message}\n`),
      ),
    '/healthz': (res) => reply(res, 200, 'ok\n'),
    '/readyz': (res) => {
      const { ready, detail } = readiness();
      reply(res, ready ? 200 : 503, `${ready ? 'ready' : 'not ready'}: ${detail}\n`);
    },
  };
  if (report)
    routes['/report'] = (res) =>
      report().then(
        (r) => reply(res, 200, JSON.stringify(r, null, 2) + '\n', 'application/json'),
        (err: Error) => reply(res, 500, `report failed: ${err.message}\n`),
      );
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const route = routes[new URL(req.url ?? '/', 'http://kotel').pathname];
    if (!route) return reply(res, 404, `not found: kotel serves ${Object.keys(routes).join(', ')}\n`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'use GET\n');
    route(res);
  }).unref();
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const listening = new Promise<void>((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EADDRINUSE'
          ? `port ${port} is already in use on ${host}`
          : err.code === 'EACCES'
            ? `no permission to listen on ${host}:${port}`
            : `cannot listen on ${host}:${port}: ${err.message}`;
      logger.error(
        `prometheus.port: ${why}; running without the Prometheus endpoint ` +
          `(set prometheus.port / --prometheus-port to a free port, or --no-prometheus)`,
      );
      resolve();
    });
    server.listen({ host, port }, () => {
      logger.info(`Prometheus metrics at http://${where}/metrics (health: /healthz, /readyz; report: /report)`);
      resolve();
    });
  });
  return {
    reader,
    listening,
    close: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
