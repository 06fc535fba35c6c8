// The dashboards (deploy/grafana/dashboards/) read what kotel serves, the way Grafana will: every metric a
// panel or variable asks for is a name kotel's metrics take in Prometheus, every variable is defined, every
// data source is provisioned, heatmaps and percentiles read the classic buckets, and the RDMA connections'
// links ask for the spans kotel makes. test/integration/dashboards.test.ts runs each query on a real Prometheus.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { loadConfig } from '../../agent/src/config';
import { CGROUP_ATTR } from '../../agent/src/host/cgroups';
import { prometheusName } from '../../agent/src/otel/prometheusNames';
import { SELF, type MetricName } from '../../agent/src/otel/semconv';
import { QP_ATTR } from '../../agent/src/probes/rdma/qps';
import { RDMA } from '../../agent/src/probes/rdma/semconv';
import { LOCKS } from '../../agent/src/probes/locks/semconv';
import { SCHED } from '../../agent/src/probes/sched/semconv';
import { TCP } from '../../agent/src/probes/tcp/semconv';
import { INTERRUPTS } from '../../agent/src/probes/interrupts/semconv';
import { BLOCKIO } from '../../agent/src/probes/blockio/semconv';
import { MEMORY } from '../../agent/src/probes/memory/semconv';
import { CPU } from '../../agent/src/probes/cpu/semconv';
import { UNIX } from '../../agent/src/probes/unix/semconv';
import { familyNames } from '../../agent/src/probes/registry';
import { builtinVariables, interpolate, labelValues, loadDashboards, metricNames, variableQuery, type Panel } from '../helpers/dashboards';
import { readYaml } from '../helpers/deploy';

const dashboards = loadDashboards();
const targetsOf = (p: Panel) => p.targets ?? [];

/** every Prometheus name a kotel metric can take (its kind aside), with a histogram's series */
function servedNames(): Set<string> {
  const metrics = [TCP, SCHED, LOCKS, RDMA, INTERRUPTS, BLOCKIO, MEMORY, CPU, UNIX, SELF].flatMap((f) =>
    Object.values(f).filter((m): m is MetricName => typeof m !== 'string'),
  );
  const names = new Set<string>();
  for (const m of metrics) {
    for (const kind of ['counter', 'gauge'] as const) names.add(prometheusName(m.name, m.unit, kind));
    const h = prometheusName(m.name, m.unit, 'histogram');
    for (const suffix of ['_bucket', '_sum', '_count']) names.add(h + suffix);
  }
  return names;
}

test('there is a dashboard per family and one for kotel itself, each with panels and unique ids', () => {
  assert.deepEqual(dashboards.map((d) => d.dashboard.uid).sort(), ['kotel-health', ...familyNames.map((n) => `kotel-${n}`)].sort());
  for (const { file, dashboard } of dashboards) {
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, `${file}: unique panel ids`);
    assert.ok(
      dashboard.panels.every((p) => targetsOf(p).length > 0),
      `${file}: every panel queries something`,
    );
  }
});

test('every metric a panel or a variable reads is a name kotel serves', () => {
  const served = servedNames();
  for (const { file, dashboard } of dashboards) {
    const selectors = dashboard.templating.list.map((v) => labelValues(variableQuery(v)).selector ?? '');
    const exprs = [...dashboard.panels.flatMap((p) => targetsOf(p).map((t) => t.expr)), ...selectors];
    for (const expr of exprs) {
      const names = metricNames(expr);
      assert.ok(names.length > 0, `${file}: ${expr} reads a metric`);
      for (const n of names) assert.ok(served.has(n), `${file}: ${n} (in ${expr}) is not a name kotel serves`);
    }
  }
});

test('every variable a query uses is defined on its dashboard or by Grafana', () => {
  for (const { file, dashboard } of dashboards) {
    const values = { ...builtinVariables(10, 10, 3600), ...Object.fromEntries(dashboard.templating.list.map((v) => [v.name, 'x'])) };
    for (const expr of [
      ...dashboard.panels.flatMap((p) => targetsOf(p).map((t) => t.expr)),
      ...dashboard.templating.list.map(variableQuery),
    ]) {
      assert.doesNotThrow(() => interpolate(expr, values), `${file}: ${expr}`);
    }
  }
});

test('panels and variables use the provisioned data sources', () => {
  const ds = readYaml<{ datasources: Array<{ uid: string; type: string }> }>('deploy/grafana/provisioning/datasources/datasources.yaml');
  const uids = new Map(ds.datasources.map((d) => [d.uid, d.type]));
  for (const { file, dashboard } of dashboards) {
    for (const ref of [...dashboard.panels.map((p) => p.datasource), ...dashboard.templating.list.map((v) => v.datasource)]) {
      assert.ok(ref && uids.get(ref.uid) === ref.type, `${file}: data source ${JSON.stringify(ref)} is provisioned`);
    }
  }
});

test('heatmaps and percentiles read the classic buckets by le (what both kotel and the Collector serve)', () => {
  for (const { file, dashboard } of dashboards) {
    for (const p of dashboard.panels) {
      for (const t of targetsOf(p)) {
        if (p.type === 'heatmap') {
          assert.match(t.expr, /^sum by \(le\) \(rate\(\w+_seconds_bucket\{/, `${file}: ${p.title}`);
          assert.equal(t.format, 'heatmap', `${file}: ${p.title} is a heatmap of the buckets`);
        }
        if (t.expr.includes('histogram_quantile')) assert.match(t.expr, /sum by \(le[,)].*_bucket\{/, `${file}: ${p.title}`);
      }
    }
  }
});

test('the RDMA connections link to the rdma.qp spans of their device and cgroup, in Tempo and in Jaeger', () => {
  const rdma = dashboards.find((d) => d.dashboard.uid === 'kotel-rdma')!.dashboard;
  const panel = rdma.panels.find((p) =>
    targetsOf(p).some((t) => t.expr.includes(prometheusName(RDMA.connections.name, RDMA.connections.unit, 'gauge'))),
  );
  const table = panel?.type === 'table' ? panel : undefined;
  assert.ok(table, 'a table of the live connections');
  const grouped = /sum by \(([^)]*)\)/.exec(targetsOf(table)[0].expr)![1].split(/,\s*/);
  const links = table.fieldConfig?.defaults?.links ?? [];
  const fields = (url: string) => [...decodeURIComponent(url).matchAll(/\$\{__data\.fields\.(\w+)\}/g)].map((m) => m[1]);
  const tempo = decodeURIComponent(links.find((l) => l.title.includes('Tempo'))!.url);
  assert.ok(tempo.includes(`name = \\"${RDMA.span}\\"`), tempo);
  assert.ok(tempo.includes(`span.${QP_ATTR.device} = \\"\${__data.fields.rdma_device}\\"`), tempo);
  assert.ok(tempo.includes(`span.${CGROUP_ATTR.id} = \${__data.fields.cgroup_id}`), tempo);
  assert.ok(tempo.includes('"uid":"tempo"'));
  const jaeger = new URL(links.find((l) => l.title.includes('Jaeger'))!.url);
  assert.equal(jaeger.searchParams.get('service'), loadConfig({ env: {} }).service.name);
  assert.equal(jaeger.searchParams.get('operation'), RDMA.span);
  assert.deepEqual(Object.keys(JSON.parse(jaeger.searchParams.get('tags')!) as object), [QP_ATTR.device, CGROUP_ATTR.id]);
  for (const l of links) for (const f of fields(l.url)) assert.ok(grouped.includes(f), `${l.title}: ${f} is a column of the table`);
});
