// docker-compose.yml as Compose and a user read it (Docker is not installed here): valid under the Compose
// Specification's JSON schema (test/fixtures/compose-spec), kotel run the way the README's `docker run`
// says (host PID and cgroup namespaces, the capabilities of its table, read-only host mounts), and every
// service pointing at the others where their own configs listen.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import Ajv from 'ajv';
import draft07 from 'ajv/dist/refs/json-schema-draft-07.json';
import { loadConfig } from '../../agent/src/config';
import { otlpTargets } from '../../agent/src/otel/endpoints';
import {
  bindMounts,
  COLLECTOR_CONFIG,
  COLLECTOR_IMAGE,
  commandOf,
  environmentOf,
  hostPort,
  imageTag,
  loadCompose,
  mountedAt,
  readYaml,
  repoPathOf,
  ROOT,
  serviceWithImage,
} from '../helpers/deploy';
import { envOf, readStages, stageNamed } from '../helpers/dockerfile';
import { readmeDeployment } from '../helpers/readmeDeployment';
import { UNIT_TEMPLATE, unitCapabilities } from '../helpers/systemdUnit';
import { tool } from '../helpers/tools';

const compose = loadCompose();
const kotel = compose.services.kotel;
const [collectorName] = serviceWithImage(compose, COLLECTOR_IMAGE)!;
type Endpoint = { endpoint: string };
const collector = readYaml<{
  receivers: { otlp: { protocols: Record<'grpc' | 'http', Endpoint> } };
  exporters: Record<string, Endpoint>;
}>(COLLECTOR_CONFIG);
const HOST_MOUNTS = ['/sys/kernel/btf', '/sys/fs/cgroup', '/sys/kernel/tracing'];

function composeValidator() {
  const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'compose-spec', 'compose-spec.json'), 'utf8')) as {
    $schema: string;
  };
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addMetaSchema({ ...draft07, $id: schema.$schema }); // the schema names draft-07 by its https URL
  return ajv.compile(schema);
}

test('docker-compose.yml is valid under the Compose Specification schema; a misspelt key is not', () => {
  const validate = composeValidator();
  assert.ok(validate(compose), JSON.stringify(validate.errors));
  const typo = structuredClone(compose);
  (typo.services.kotel as Record<string, unknown>).pid_mode = 'host';
  assert.equal(validate(typo), false);
  assert.deepEqual(
    validate.errors?.map((e) => [e.instancePath, e.params]),
    [['/services/kotel', { additionalProperty: 'pid_mode' }]],
  );
});

test("the kotel service runs as the README's docker run does: host PID and cgroup namespaces, its capabilities, read-only host mounts", () => {
  const readme = readmeDeployment();
  assert.equal(kotel.pid, 'host');
  assert.equal(kotel.cgroup, 'host');
  assert.deepEqual(kotel.cap_drop, ['ALL']);
  assert.deepEqual([...(kotel.cap_add ?? [])].sort(), [...readme.capabilityTable].sort(), 'cap_add = the README table');
  const unit = unitCapabilities(UNIT_TEMPLATE).map((c) => c.toUpperCase());
  assert.deepEqual([...(kotel.cap_add ?? [])].sort(), unit.sort(), "cap_add = the systemd unit's measured capabilities");
  assert.deepEqual([...readme.dockerRun.capAdd].sort(), [...readme.capabilityTable].sort(), 'docker run --cap-add = the README table');
  assert.deepEqual(readme.dockerRun.capDrop, ['ALL']);
  assert.deepEqual(
    readme.dockerRun.securityOpt,
    (kotel.security_opt ?? []).map((o) => o.replace(':', '=')),
  );
  assert.ok(readme.dockerRun.pidHost && readme.dockerRun.cgroupnsHost, 'docker run --pid=host --cgroupns=host');
  for (const p of HOST_MOUNTS) {
    assert.deepEqual(mountedAt(kotel, p), { source: p, target: p, readOnly: true }, `${p} mounted read-only`);
    assert.ok(readme.dockerRun.mounts.includes(`${p}:${p}:ro`), `docker run -v ${p}:${p}:ro`);
  }
  assert.deepEqual(
    bindMounts(kotel).filter((m) => !m.readOnly),
    [],
    'kotel writes to no host path',
  );
});

test("kotel's OTLP goes to the Collector service's OTLP receiver, with the histograms the dashboards read", () => {
  const cmd = commandOf(kotel);
  const mount = mountedAt(kotel, cmd[cmd.indexOf('--config') + 1]);
  const file = repoPathOf(mount!.source);
  assert.ok(file && fs.existsSync(file), `the config kotel runs with is a repo file (${mount?.source})`);
  const image = envOf(stageNamed(readStages(), 'runtime'));
  const config = loadConfig({ file, env: { ...image, ...environmentOf(kotel) } });
  const targets = otlpTargets(config);
  const receiver = hostPort(collector.receivers.otlp.protocols[config.otlp.protocol === 'grpc' ? 'grpc' : 'http'].endpoint);
  for (const url of [targets.metricsUrl, targets.tracesUrl]) {
    assert.deepEqual(
      hostPort(url),
      { host: collectorName, port: receiver.port },
      `${url}: the collector's OTLP ${config.otlp.protocol} receiver`,
    );
  }
  assert.equal(config.otlp.temporality, 'cumulative', "the Collector's prometheus exporter keeps cumulative series");
  assert.equal(config.metrics.histogramAggregation, 'explicit', 'classic *_bucket series through the Collector, as kotel serves them');
  assert.ok(kotel.ports?.includes(`${config.prometheus.port}:${config.prometheus.port}`), 'the Prometheus endpoint is published');
  assert.equal(config.prometheus.host, '0.0.0.0');
});

test('the Collector sends spans to the Jaeger and Tempo services, Prometheus scrapes its exporter, Grafana reads all three', () => {
  const services = new Set(Object.keys(compose.services));
  const tempo = readYaml<{ server: { http_listen_port: number }; distributor: { receivers: { otlp: { protocols: { grpc: Endpoint } } } } }>(
    'deploy/tempo.yaml',
  );
  const jaeger = hostPort(collector.exporters['otlp_grpc/jaeger'].endpoint);
  assert.deepEqual(jaeger, { host: 'jaeger', port: 4317 }, 'Jaeger all-in-one takes OTLP gRPC on 4317');
  assert.deepEqual(hostPort(collector.exporters['otlp_grpc/tempo'].endpoint), {
    host: 'tempo',
    port: hostPort(tempo.distributor.receivers.otlp.protocols.grpc.endpoint).port,
  });
  const prom = readYaml<{ scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }> }>('deploy/prometheus.yml');
  const targets = prom.scrape_configs.flatMap((s) => s.static_configs.flatMap((c) => c.targets));
  assert.deepEqual(
    targets,
    [`${collectorName}:${hostPort(collector.exporters.prometheus.endpoint).port}`],
    'only the Collector: no series twice',
  );
  const ds = readYaml<{ datasources: Array<{ type: string; url: string }> }>('deploy/grafana/provisioning/datasources/datasources.yaml');
  const listens: Record<string, number> = { prometheus: 9090, tempo: tempo.server.http_listen_port, jaeger: 16686 };
  assert.deepEqual(ds.datasources.map((d) => d.type).sort(), ['jaeger', 'prometheus', 'tempo']);
  for (const d of ds.datasources) {
    const { host, port } = hostPort(d.url);
    assert.ok(services.has(host), `${d.type} data source: service ${host}`);
    assert.equal(port, listens[d.type], `${d.type} data source port`);
  }
});

test('each service mounts its config where its command reads it, and Grafana its provisioning and dashboards', () => {
  const reads = (svc: string, flag: RegExp) => {
    const arg = commandOf(compose.services[svc]).find((a) => flag.test(a));
    assert.ok(arg, `${svc} names its config`);
    return arg.replace(flag, '');
  };
  const expect: Array<[string, string, string]> = [
    [collectorName, reads(collectorName, /^--config=/), 'otel-collector-config.yaml'],
    ['prometheus', reads('prometheus', /^--config\.file=/), 'deploy/prometheus.yml'],
    ['tempo', reads('tempo', /^-config\.file=/), 'deploy/tempo.yaml'],
    ['grafana', '/etc/grafana/provisioning', 'deploy/grafana/provisioning'],
  ];
  const provider = readYaml<{ providers: Array<{ options: { path: string } }> }>('deploy/grafana/provisioning/dashboards/dashboards.yaml');
  expect.push(['grafana', provider.providers[0].options.path, 'deploy/grafana/dashboards']);
  for (const [svc, target, file] of expect) {
    const m = mountedAt(compose.services[svc], target);
    assert.equal(m && path.relative(ROOT, repoPathOf(m.source)!), file, `${svc} mounts ${file} at ${target}`);
    assert.ok(m?.readOnly, `${svc}: ${target} read-only`);
  }
});

test('every image is pinned to a version, and every repo file a service mounts exists', () => {
  for (const [name, svc] of Object.entries(compose.services)) {
    const { tag } = imageTag(svc.image ?? '');
    assert.ok(tag && tag !== 'latest' && /\d/.test(tag), `${name}: ${svc.image} is pinned`);
    for (const m of bindMounts(svc)) {
      const file = repoPathOf(m.source);
      if (file) assert.ok(fs.existsSync(file), `${name} mounts ${m.source}`);
    }
  }
  assert.deepEqual(kotel.build, { context: '.', dockerfile: 'Dockerfile' });
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(imageTag(kotel.image!).tag, pkg.version, "kotel's image is tagged with the package version");
});

test("promtool (Debian's Prometheus) accepts deploy/prometheus.yml", () => {
  const out = execFileSync(tool('promtool'), ['check', 'config', path.join(ROOT, 'deploy', 'prometheus.yml')], { encoding: 'utf8' });
  assert.match(out, /SUCCESS/);
});
