// The corpus of bad environment values (OTEL_*, KOTEL_*), run through the real CLI as config-corpus.test.ts
// runs files and flags: one line on stderr naming the variable and the key, exit 2.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { corpusDir, MS, runAll, type Case } from '../helpers/configCorpus';

const dir = corpusDir();

const ENV: Case[] = [
  {
    what: 'KOTEL_ duration',
    args: ['check-config'],
    env: { KOTEL_OTLP_TIMEOUT: 'abc' },
    names: /otlp\.timeout = "abc" \(from KOTEL_OTLP_TIMEOUT\)/,
    fix: MS,
  },
  {
    what: 'KOTEL_ port',
    args: ['check-config'],
    env: { KOTEL_PROMETHEUS_PORT: '-1' },
    names: /prometheus\.port = -1 \(from KOTEL_PROMETHEUS_PORT\)/,
    fix: /must be a port number/,
  },
  {
    what: 'KOTEL_ bool',
    args: ['check-config'],
    env: { KOTEL_FAMILIES_TCP_ENABLED: 'maybe' },
    names: /families\.tcp\.enabled = "maybe" \(from KOTEL_FAMILIES_TCP_ENABLED\)/,
    fix: /must be true or false/,
  },
  {
    what: 'KOTEL_ integer',
    args: ['check-config'],
    env: { KOTEL_FAMILIES_SCHED_MAX_TASKS: '12k' },
    names: /families\.sched\.maxTasks = "12k" \(from KOTEL_FAMILIES_SCHED_MAX_TASKS\)/,
    fix: /must be an integer/,
  },
  {
    what: 'KOTEL_ integer above its range',
    args: ['check-config'],
    env: { KOTEL_METRICS_HISTOGRAM_SCALE: '5' },
    names: /metrics\.histogramScale = 5 \(from KOTEL_METRICS_HISTOGRAM_SCALE\)/,
    fix: /must be an integer from 0 to 4/,
  },
  {
    what: 'KOTEL_ enum',
    args: ['check-config'],
    env: { KOTEL_LOG_LEVEL: 'loud' },
    names: /log\.level = "loud" \(from KOTEL_LOG_LEVEL\)/,
    fix: /must be one of/,
  },
  {
    what: 'KOTEL_ headers',
    args: ['check-config'],
    env: { KOTEL_OTLP_HEADERS: 'authorization' },
    names: /otlp\.headers = "\*\*\*" \(from KOTEL_OTLP_HEADERS\)/,
    fix: /must be k=v,k2=v2/,
  },
  {
    what: 'KOTEL_CONFIG missing',
    args: ['check-config'],
    env: { KOTEL_CONFIG: path.join(dir, 'nope.yaml') },
    names: /config file .*nope\.yaml/,
    fix: /no such file/,
  },
  {
    what: 'KOTEL_ bad value for run',
    args: ['run'],
    env: { KOTEL_METRICS_INTERVAL: '10' },
    names: /metrics\.interval = 10 \(from KOTEL_METRICS_INTERVAL\)/,
    fix: MS,
  },
  {
    what: 'OTEL_ protocol',
    args: ['check-config'],
    env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'udp' },
    names: /otlp\.protocol = "udp" \(from OTEL_EXPORTER_OTLP_PROTOCOL\)/,
    fix: /must be one of grpc, http\/protobuf/,
  },
  {
    what: 'OTEL_ timeout',
    args: ['check-config'],
    env: { OTEL_EXPORTER_OTLP_TIMEOUT: '-3' },
    names: /otlp\.timeout = "-3" \(from OTEL_EXPORTER_OTLP_TIMEOUT\)/,
    fix: MS,
  },
  {
    what: 'OTEL_ interval',
    args: ['check-config'],
    env: { OTEL_METRIC_EXPORT_INTERVAL: 'often' },
    names: /metrics\.interval = "often" \(from OTEL_METRIC_EXPORT_INTERVAL\)/,
    fix: MS,
  },
  {
    what: 'OTEL_ headers',
    args: ['check-config'],
    env: { OTEL_EXPORTER_OTLP_HEADERS: '=x' },
    names: /otlp\.headers = "\*\*\*" \(from OTEL_EXPORTER_OTLP_HEADERS\)/,
    fix: /must be k=v,k2=v2/,
  },
  {
    what: 'OTEL_ resource attributes',
    args: ['check-config'],
    env: { OTEL_RESOURCE_ATTRIBUTES: 'novalue' },
    names: /resource\.attributes = "novalue" \(from OTEL_RESOURCE_ATTRIBUTES\)/,
    fix: /must be k=v,k2=v2/,
  },
  {
    what: 'OTEL_ bool',
    args: ['check-config'],
    env: { OTEL_SDK_DISABLED: 'perhaps' },
    names: /sdk\.disabled = "perhaps" \(from OTEL_SDK_DISABLED\)/,
    fix: /must be true or false/,
  },
  {
    what: 'OTEL_ endpoint',
    args: ['check-config'],
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://[::1' },
    names: /otlp\.endpoint = "http:\/\/\[::1" \(from OTEL_EXPORTER_OTLP_ENDPOINT\)/,
    fix: /must be host:port or a URL/,
  },
  {
    what: 'OTEL_ traces endpoint scheme',
    args: ['check-config'],
    env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'unix:///run/otel.sock' },
    names: /otlp\.tracesEndpoint = "unix:\/\/\/run\/otel\.sock"/,
    fix: /\(http:\/\/ or https:\/\/\)/,
  },
  {
    what: 'OTEL_ temporality',
    args: ['check-config'],
    env: { OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'sometimes' },
    names: /otlp\.temporality = "sometimes" \(from OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE\)/,
    fix: /must be one of cumulative, delta, lowmemory/,
  },
];

test('bad OTEL_* and KOTEL_* values: one line naming the key and the variable, exit 2', async () => {
  await runAll(ENV);
});

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
