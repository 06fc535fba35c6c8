// otel-collector-config.yaml against the Collector version docker-compose.yml pins: every component is in that
// version's contrib distribution under its current name, every key is one its config.go reads, every
// pipeline uses defined components (test/fixtures/collector/<version>.json says where each fact was read).
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { checkCollectorConfig, collectorFixture } from '../helpers/collectorConfig';
import { COLLECTOR_CONFIG, COLLECTOR_IMAGE, imageTag, loadCompose, readYaml, serviceWithImage } from '../helpers/deploy';

const [, collector] = serviceWithImage(loadCompose(), COLLECTOR_IMAGE) ?? [];
const version = collector?.image ? imageTag(collector.image).tag : undefined;

test('docker-compose.yml pins a Collector version the fixtures describe', () => {
  assert.ok(version && /^\d+\.\d+\.\d+$/.test(version), `the collector image is pinned to a version (${collector?.image})`);
  assert.equal(collectorFixture(version).image, collector!.image);
});

test('otel-collector-config.yaml uses only components and keys of that Collector version', () => {
  const fx = collectorFixture(version!);
  assert.deepEqual(checkCollectorConfig(readYaml(COLLECTOR_CONFIG), fx), []);
});

test('the check names an unknown component, a deprecated name, an unknown key and an undefined pipeline member', () => {
  const fx = collectorFixture(version!);
  const config = readYaml<Record<string, Record<string, unknown>>>(COLLECTOR_CONFIG);
  config.exporters['prometheusx'] = {};
  config.exporters['otlp/old'] = { endpoint: 'jaeger:4317' };
  (config.receivers.otlp as { protocols: { grpc: Record<string, unknown> } }).protocols.grpc.endpont = '0.0.0.0:4317';
  (config.service.pipelines as Record<string, { exporters: string[] }>).traces.exporters.push('otlp_grpc/missing');
  assert.deepEqual(checkCollectorConfig(config, fx), [
    'receivers.otlp.protocols.grpc.endpont: unknown key (endpoint, transport, dialer, tls, max_recv_msg_size_mib, max_concurrent_streams, read_buffer_size, write_buffer_size, keepalive, auth, include_metadata, middlewares)',
    `exporters.prometheusx: no exporter of type "prometheusx" in the contrib distribution ${fx.version}`,
    `exporters.otlp/old: "otlp" is the deprecated name of otlp_grpc in ${fx.version}`,
    'service.pipelines.traces.exporters: otlp_grpc/missing is not defined under exporters',
  ]);
});
