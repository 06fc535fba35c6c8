// kotel's Prometheus names against the OpenTelemetry Collector's own: every name, unit and kind of the
// Collector's documented examples and normalisation tests (test/fixtures/prometheus/collector-names.json)
// gives the name the Collector's prometheus exporter produces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { prometheusName, type PrometheusKind } from '../../agent/src/otel/prometheusNames';

const FIXTURE = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'prometheus', 'collector-names.json');

test("OTel name + unit -> the Collector's Prometheus name, on each of its documented cases", () => {
  const { cases } = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as {
    cases: { name: string; unit: string; kind: PrometheusKind; prometheus: string }[];
  };
  assert.ok(cases.length >= 40);
  const wrong = cases
    .map((c) => ({ ...c, got: prometheusName(c.name, c.unit, c.kind) }))
    .filter((c) => c.got !== c.prometheus)
    .map((c) => `${JSON.stringify(c.name)} (${JSON.stringify(c.unit)}, ${c.kind}): ${c.got}, the Collector: ${c.prometheus}`);
  assert.deepEqual(wrong, []);
});
