import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, configDocTable, loadConfig, redactSecrets, schemaKeys } from '../../agent/src/config';
import { flagsFromOptions } from '../../agent/src/cli';
import { execFileSync } from 'node:child_process';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-config-'));
function write(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), `message is one line: ${e.message}`);
    return e;
  }
  assert.fail('expected a ConfigError');
}

test('defaults load with an empty environment', () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.otlp.protocol, 'grpc');
  assert.equal(c.otlp.endpoint, '');
  assert.equal(c.metrics.interval, 10000);
  assert.equal(c.prometheus.port, 9464);
  assert.equal(c.families.tcp.maxSockets, 65536);
  assert.equal(c.service.name, 'kotel');
  assert.equal(c.log.level, 'info');
});

test('the shipped config/kotel.yaml and the examples are valid', () => {
  const root = path.resolve(__dirname, '../../..');
  loadConfig({ file: path.join(root, 'config/kotel.yaml'), env: {} });
  for (const f of fs.readdirSync(path.join(root, 'config/examples'))) {
    loadConfig({ file: path.join(root, 'config/examples', f), env: {} });
  }
});

test('YAML file', () => {
  const f = write(
    'good.yaml',
    'otlp:\n  endpoint: collector:4317\n  temporality: delta\nfamilies:\n  tcp:\n    connectionSpans: true\n    maxSockets: 1024\nconsole:\n  interval: 2s\n',
  );
  const c = loadConfig({ file: f, env: {} });
  assert.equal(c.otlp.endpoint, 'collector:4317');
  assert.equal(c.otlp.temporality, 'delta');
  assert.equal(c.families.tcp.connectionSpans, true);
  assert.equal(c.families.tcp.maxSockets, 1024);
  assert.equal(c.families.tcp.enabled, true, 'untouched keys keep their default');
  assert.equal(c.console.interval, 2000, 'durations accept units');
});

test('JSON file', () => {
  const f = write('good.json', JSON.stringify({ otlp: { protocol: 'http/protobuf' }, prometheus: { port: 9999 } }));
  const c = loadConfig({ file: f, env: {} });
  assert.equal(c.otlp.protocol, 'http/protobuf');
  assert.equal(c.prometheus.port, 9999);
});

test('unknown key: names the key and the file, suggests the closest', () => {
  const f = write('typo.yaml', 'otlp:\n  endpiont: x:4317\n');
  const e = configError(() => loadConfig({ file: f, env: {} }));
  assert.match(e.message, /^config error: unknown key "otlp\.endpiont" in .*typo\.yaml: not in the schema/);
  assert.match(e.message, /did you mean "otlp\.endpoint"/);
  const e2 = configError(() => loadConfig({ file: write('typo2.yaml', 'nonsense: 1\n'), env: {} }));
  assert.match(e2.message, /unknown key "nonsense"/);
});

test('bad value: names key, value, allowed values and the source', () => {
  const e = configError(() => loadConfig({ env: { KOTEL_OTLP_PROTOCOL: 'udp' } }));
  assert.equal(e.message, 'config error: otlp.protocol = "udp" (from KOTEL_OTLP_PROTOCOL): must be one of grpc, http/protobuf');
  const f = write('bad.yaml', 'prometheus:\n  port: 70000\n');
  const e2 = configError(() => loadConfig({ file: f, env: {} }));
  assert.match(e2.message, /^config error: prometheus\.port = 70000 \(from .*bad\.yaml\): must be a port number/);
  const e3 = configError(() => loadConfig({ file: write('bad2.yaml', 'families:\n  tcp:\n    enabled: maybe\n'), env: {} }));
  assert.match(e3.message, /families\.tcp\.enabled = "maybe" .*must be true or false/);
  const e4 = configError(() => loadConfig({ env: {}, flags: { 'log.level': 'loud' } }));
  assert.match(e4.message, /log\.level = "loud" \(from --log-level\): must be one of fatal, error, warn, info, debug, trace/);
  const e5 = configError(() => loadConfig({ env: { OTEL_RESOURCE_ATTRIBUTES: 'novalue' } }));
  assert.match(e5.message, /resource\.attributes = "novalue" \(from OTEL_RESOURCE_ATTRIBUTES\)/);
});

test('precedence: KOTEL_* beats OTEL_* beats file; flags beat env', () => {
  const f = write('prec.yaml', 'otlp:\n  endpoint: file:4317\n  timeout: 1111\n');
  const fileOnly = loadConfig({ file: f, env: {} });
  assert.equal(fileOnly.otlp.endpoint, 'file:4317');
  const otel = loadConfig({ file: f, env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'otel:4317' } });
  assert.equal(otel.otlp.endpoint, 'otel:4317');
  assert.equal(otel.otlp.timeout, 1111, 'other file keys survive');
  const kotel = loadConfig({
    file: f,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'otel:4317', KOTEL_OTLP_ENDPOINT: 'kotel:4317' },
  });
  assert.equal(kotel.otlp.endpoint, 'kotel:4317');
  const flag = loadConfig({
    file: f,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'otel:4317', KOTEL_OTLP_ENDPOINT: 'kotel:4317' },
    flags: { 'otlp.endpoint': 'flag:4317', 'prometheus.enabled': false },
  });
  assert.equal(flag.otlp.endpoint, 'flag:4317');
  assert.equal(flag.prometheus.enabled, false);
});

test('OTEL_* variables map onto their keys', () => {
  const c = loadConfig({
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://m:4318/v1/metrics',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:4318/v1/traces',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_HEADERS: 'api-key=secret,x=1%202',
      OTEL_EXPORTER_OTLP_TIMEOUT: '2500',
      OTEL_METRIC_EXPORT_INTERVAL: '15000',
      OTEL_SERVICE_NAME: 'node-a',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod,rack=r1',
      OTEL_SDK_DISABLED: 'true',
      OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'DELTA',
      OTEL_TRACES_EXPORTER: 'none',
    },
  });
  assert.equal(c.otlp.endpoint, 'http://c:4318');
  assert.equal(c.otlp.metricsEndpoint, 'http://m:4318/v1/metrics');
  assert.equal(c.otlp.tracesEndpoint, 'http://t:4318/v1/traces');
  assert.equal(c.otlp.protocol, 'http/protobuf');
  assert.equal(c.otlp.headers, 'api-key=secret,x=1%202');
  assert.equal(c.otlp.timeout, 2500);
  assert.equal(c.metrics.interval, 15000);
  assert.equal(c.service.name, 'node-a');
  assert.equal(c.resource.attributes, 'deployment.environment.name=prod,rack=r1');
  assert.equal(c.sdk.disabled, true);
  assert.equal(c.otlp.temporality, 'delta');
  assert.equal(c.otlp.traces, false);
  // empty OTEL_* values count as unset
  assert.equal(loadConfig({ env: { OTEL_SERVICE_NAME: '' } }).service.name, 'kotel');
  // service.name inside OTEL_RESOURCE_ATTRIBUTES applies when nothing sets service.name itself
  assert.equal(loadConfig({ env: { OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs' } }).service.name, 'from-attrs');
  assert.equal(loadConfig({ env: { OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs', OTEL_SERVICE_NAME: 'svc' } }).service.name, 'svc');
});

test('missing and unparsable files are one-line errors', () => {
  const e = configError(() => loadConfig({ file: path.join(dir, 'nope.yaml'), env: {} }));
  assert.match(e.message, /^config error: cannot read config file .*nope\.yaml: no such file$/);
  const e2 = configError(() => loadConfig({ file: write('broken.yaml', 'otlp: [\n'), env: {} }));
  assert.match(e2.message, /^config error: cannot parse config file .*broken\.yaml: /);
  const e3 = configError(() => loadConfig({ file: write('broken.json', '{"otlp": '), env: {} }));
  assert.match(e3.message, /^config error: cannot parse config file .*broken\.json: /);
  const e4 = configError(() => loadConfig({ file: write('conf.toml', 'a=1'), env: {} }));
  assert.match(e4.message, /unknown extension/);
});

test('configDocTable lists every key with its env name', () => {
  const table = configDocTable();
  assert.match(table, /^\| key \| env \| default \| description \|/);
  const keys = schemaKeys();
  assert.ok(keys.length >= 20);
  for (const [key, spec] of keys) {
    const row = table.split('\n').find((l) => l.startsWith(`| \`${key}\` |`));
    assert.ok(row, `row for ${key}`);
    assert.ok(spec.env && row.includes(`\`${spec.env}\``), `${key} lists ${spec.env}`);
  }
  assert.match(table, /`otlp\.endpoint` \| `KOTEL_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_ENDPOINT`/);
  assert.match(table, /`families\.tcp\.maxSockets` \| `KOTEL_FAMILIES_TCP_MAX_SOCKETS`/);
});

test('OTLP header values are secrets: not in config errors, shown as *** by check-config', () => {
  const token = 'Bearer-s3cr3t-t0ken';
  // a malformed list: the bad item is the token itself
  assert.throws(
    () => loadConfig({ env: { KOTEL_OTLP_HEADERS: `x-tenant=a,${token}` } }),
    (e: Error) =>
      e instanceof ConfigError &&
      /^config error: otlp\.headers = "x-tenant=\*\*\*,\*\*\*" \(from KOTEL_OTLP_HEADERS\): must be k=v,k2=v2 \(item 2 of the list is not key=value\)$/.test(
        e.message,
      ) &&
      !e.message.includes(token),
  );
  const cli = path.resolve(__dirname, '..', '..', 'agent', 'src', 'cli.js');
  const out = execFileSync(process.execPath, [cli, 'check-config'], {
    env: { ...process.env, OTEL_EXPORTER_OTLP_HEADERS: `authorization=${token},x-tenant=a` },
    encoding: 'utf8',
  });
  assert.equal(JSON.parse(out).otlp.headers, 'authorization=***,x-tenant=***');
  assert.ok(!out.includes(token), 'the token is not printed');
  assert.equal(redactSecrets(loadConfig({ env: { KOTEL_OTLP_HEADERS: `a=${token}` } })).otlp.headers, 'a=***');
});

test('flags come from the schema: given ones only, --no-x only when given', () => {
  assert.deepEqual(flagsFromOptions({ otlp: true, prometheus: true, console: true }), {});
  assert.deepEqual(flagsFromOptions({ otlpEndpoint: 'h:4317', otlp: false, prometheusPort: 9, logLevel: 'debug' }), {
    'otlp.enabled': false,
    'otlp.endpoint': 'h:4317',
    'prometheus.port': 9,
    'log.level': 'debug',
  });
});
