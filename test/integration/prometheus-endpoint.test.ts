// kotel's own HTTP listener as Prometheus and an orchestrator meet it (root, real kernel, every default
// family): /metrics serves exactly the names the Collector's prometheus exporter makes of the OTLP that kotel
// sends (the Collector's rules, checked against its own cases in test/unit/prometheus-names.test.ts, applied
// to what the OTLP receiver decoded), and passes `promtool check metrics`; /healthz answers; /readyz says
// 503 until the first OTLP export, then 200.
import { strict as assert } from 'node:assert';
import { defaultFamilyNames } from '../../agent/src/probes/registry';
import { spawnSync } from 'node:child_process';
import * as net from 'node:net';
import { after, before, test } from 'node:test';
import { prometheusName } from '../../agent/src/otel/prometheusNames';
import { freePort, startAgent, type AgentProcess } from '../helpers/agentProcess';
import { startOtlpReceiver, type DecodedPoint, type OtlpReceiver } from '../helpers/otlpReceiver';
import { scaled } from '../helpers/timing';
import { tool } from '../helpers/tools';
import { trampolineOnlyMisses } from '../helpers/probesHere';

let receiver: OtlpReceiver;
let agent: AgentProcess;
let base: string;
let earlyReadyz: { status: number; body: string };

const get = async (p: string) => {
  const res = await fetch(`${base}${p}`);
  return { status: res.status, body: await res.text() };
};

/** what the Collector's prometheus exporter does with an OTLP metric: its name and TYPE */
function collectorView(p: DecodedPoint): [string, string] {
  const kind = p.kind === 'sum' && p.monotonic ? 'counter' : p.kind.endsWith('istogram') ? 'histogram' : 'gauge';
  return [prometheusName(p.name, p.unit, kind), kind];
}

before(async () => {
  receiver = await startOtlpReceiver();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  agent = startAgent(
    ['run', '--no-console', '--prometheus-port', String(port), '--otlp-endpoint', `http://127.0.0.1:${receiver.grpcPort}`],
    {
      KOTEL_METRICS_INTERVAL: String(scaled(4000)),
    },
  );
  await agent.waitFor(/Prometheus metrics at/, 30_000);
  earlyReadyz = await get('/readyz');
});

after(async () => {
  await agent?.stop();
  await receiver?.close();
});

test('/readyz: 503 while the first OTLP export is awaited, 200 after it; /healthz 200; other paths 404', async () => {
  assert.equal(earlyReadyz.status, 503, earlyReadyz.body);
  assert.match(earlyReadyz.body, /^not ready: (starting|.*waiting for the first OTLP metrics export)/);
  await receiver.waitFor(() => receiver.metrics().length > 0 || undefined, 30_000, 'a first export');
  let ready = await get('/readyz');
  for (const end = Date.now() + scaled(5000); ready.status !== 200 && Date.now() < end; ready = await get('/readyz'))
    await new Promise((r) => setTimeout(r, 100));
  assert.equal(ready.status, 200, ready.body);
  const m = new RegExp(`^ready: ${defaultFamilyNames.join(', ')}: (\\d+) of (\\d+) probes attached; first OTLP export ok\n$`).exec(
    ready.body,
  );
  assert.ok(m, ready.body);
  assert.equal(
    Number(m[2]) - Number(m[1]),
    (await trampolineOnlyMisses()).size,
    `${ready.body}: every probe attached but fentry/fexit ones this kernel cannot`,
  );
  assert.deepEqual(await get('/healthz'), { status: 200, body: 'ok\n' });
  const missing = await get('/metrics/extra');
  assert.equal(missing.status, 404);
  assert.match(missing.body, /\/metrics, \/healthz, \/readyz/);
});

test("/metrics: the Collector's names for kotel's OTLP, both ways, and promtool accepts them", async () => {
  // TCP connections, so the tcp histograms and counters have series
  for (let i = 0; i < 5; i++)
    await new Promise<void>((resolve, reject) => {
      const sock = net.connect(receiver.grpcPort, '127.0.0.1', () => sock.end(resolve));
      sock.on('error', reject);
    });
  await receiver.waitFor(
    () => receiver.metrics().some((p) => p.name === 'tcp.connect.duration') || undefined,
    30_000,
    'tcp.connect.duration',
  );
  const scraped = await get('/metrics');
  assert.equal(scraped.status, 200);
  // an export that started after the scrape: cumulative, so it holds every series the scrape had
  const from = receiver.metrics().length;
  await receiver.waitFor(
    () =>
      receiver
        .metrics()
        .slice(from)
        .some((p) => p.name === 'kotel.probe.attached') || undefined,
    30_000,
    'next export',
  );
  const fromOtlp = new Map(receiver.metrics().slice(from).map(collectorView));
  // and a scrape after it: a metric whose first series was born between the first scrape and the export
  // (a disk's first queued request, a new IRQ) is in the export, and must be served by then
  const later = await get('/metrics');
  const typesOf = (body: string) => {
    const types = new Map([...body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
    types.delete('target_info'); // resource attributes: the Collector has target_info too
    return types;
  };
  const served = typesOf(scraped.body);
  const only = (a: Map<string, string>, b: Map<string, string>) => [...a].filter(([n, t]) => b.get(n) !== t).map(([n, t]) => `${n} (${t})`);
  assert.deepEqual({ servedOnly: only(served, fromOtlp), otlpOnly: only(fromOtlp, typesOf(later.body)) }, { servedOnly: [], otlpOnly: [] });
  for (const [name, type] of [
    ['tcp_rtt_seconds', 'histogram'],
    ['tcp_connect_duration_seconds', 'histogram'],
    ['tcp_connection_events_total', 'counter'],
    ['tcp_connection_active', 'gauge'],
    ['sched_runqueue_delay_seconds', 'histogram'],
    ['kotel_probe_attached', 'gauge'],
    ['kotel_export_results_total', 'counter'],
  ])
    assert.equal(served.get(name), type, `${name} served as a ${type}`);
  assert.match(scraped.body, /^tcp_connect_duration_seconds_bucket\{.*le="\+Inf"\} [1-9]/m);

  const check = spawnSync(tool('promtool'), ['check', 'metrics'], { input: scraped.body, encoding: 'utf8' });
  assert.equal(check.status, 0, `promtool check metrics: ${check.stdout}${check.stderr}`);
  assert.equal(`${check.stdout}${check.stderr}`.trim(), '', 'no lint findings');
});
