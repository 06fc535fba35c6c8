// Every panel of kotel's Grafana dashboards shows data: the real agent, run with the Compose stack's config
// (config/examples/compose.yaml; OTLP to a receiver here instead of the Collector, futex waits on, RDMA on the
// fake HCA), is scraped by Debian's Prometheus (2.42) while TCP, scheduler, lock, block I/O, page-fault and
// RDMA workloads run; then
// each variable's label_values() and each panel's query, with the variables substituted as Grafana does
// ("All" as the variable's allValue, $__rate_interval from the scrape interval), are asked of Prometheus's
// HTTP API over the load's time range and must return at least one series with a finite value.
import { strict as assert } from 'node:assert';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, startAgent, type AgentProcess } from '../helpers/agentProcess';
import { buildWorkload } from '../helpers/cbuild';
import { createCgroup, runIn, type TestCgroup } from '../helpers/cgroup';
import { limitMemory, pageCacheSource, type MemoryLimit, type PageCacheSource } from '../helpers/memoryLimit';
import { builtinVariables, interpolate, labelValues, loadDashboards, variableQuery, type Dashboard } from '../helpers/dashboards';
import { ROOT } from '../helpers/deploy';
import { Workload } from '../helpers/fakeHca';
import { CLIENT_NS, SERVER_ADDR, SERVER_NS, createTestHosts, dropFirstSyn, removeTestHosts } from '../helpers/netns';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlpReceiver';
import { startPrometheus, type Prometheus, type Series } from '../helpers/prometheus';
import { buildRdmaFixtures, FAKE_SYSFS, RDMA_WORKLOAD } from '../helpers/rdma';
import { trampolineOnlyMisses } from '../helpers/probesHere';
import { scaled } from '../helpers/timing';
import { tool } from '../helpers/tools';

const TCP_WORKLOAD = path.resolve(__dirname, '..', 'fixtures', 'workloads', 'tcp-workload.js');
const SCRAPE_S = 2;
const LOAD_S = 20;
const now = () => Math.floor(Date.now() / 1000);
const hasData = (series: Series[]) => series.some((s) => s.values.some(([, v]) => Number.isFinite(Number(v))));

describe('every dashboard panel returns data from Prometheus scraping kotel under load (root, real kernel)', () => {
  let receiver: OtlpReceiver;
  let agent: AgentProcess;
  let prom: Prometheus;
  let held: Workload;
  let start = 0;
  const cgroups: Record<string, TestCgroup> = {};
  const children: Array<{ kill(): unknown }> = [];
  let pageCache: PageCacheSource | undefined;
  let memLimit: MemoryLimit | undefined;
  /** the probes this kernel cannot attach (fentry/fexit ones: no BPF trampolines here) */
  let cannot = new Set<string>();

  const tcp = (cg: TestCgroup, ns: string | undefined, args: string[]) => {
    const cmd = ns ? [tool('ip'), 'netns', 'exec', ns, process.execPath, TCP_WORKLOAD, ...args] : [process.execPath, TCP_WORKLOAD, ...args];
    return cg.spawn(cmd[0], cmd.slice(1));
  };
  const server = async (cg: TestCgroup, ns: string | undefined, port: number) => {
    const child = tcp(cg, ns, ['server', String(port), '0.0.0.0']);
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d) => String(d).includes('listening') && resolve());
      child.on('exit', (code) => reject(new Error(`tcp server exited ${code}`)));
    });
  };

  before(async () => {
    buildRdmaFixtures();
    const [sched, locks, faults, pingpong] = ['sched-workload', 'locks-workload', 'fault-workload', 'uds-pingpong'].map(buildWorkload);
    createTestHosts();
    for (const name of ['dash-tcp', 'dash-sched', 'dash-locks', 'dash-rdma', 'dash-io', 'dash-mem', 'dash-unix'])
      cgroups[name] = createCgroup(name);
    // memory pressure: a cgroup limited to 32 MiB reads 96 MiB through the page cache, then overruns it
    pageCache = pageCacheSource(96);
    memLimit = limitMemory(cgroups['dash-mem'], 32 << 20);
    cannot = await trampolineOnlyMisses();
    receiver = await startOtlpReceiver();
    const promPort = await freePort();
    agent = startAgent(['run', '--config', path.join(ROOT, 'config', 'examples', 'compose.yaml')], {
      KOTEL_OTLP_ENDPOINT: `127.0.0.1:${receiver.grpcPort}`,
      KOTEL_PROMETHEUS_HOST: '127.0.0.1',
      KOTEL_PROMETHEUS_PORT: String(promPort),
      KOTEL_METRICS_INTERVAL: '1000',
      KOTEL_FAMILIES_LOCKS_FUTEX: 'true',
      KOTEL_FAMILIES_UNIX_ENABLED: 'true',
      KOTEL_FAMILIES_RDMA_SYSFS_ROOT: FAKE_SYSFS,
      KOTEL_FAMILIES_RDMA_LIBRARY_SCAN_INTERVAL: '500',
    });
    await agent.waitFor(/kotel running/, 60_000);
    prom = await startPrometheus([`127.0.0.1:${promPort}`], SCRAPE_S);
    start = now();

    // TCP: echo connections on loopback, refused connects, and a dropped SYN between two namespaces
    const tcpCg = cgroups['dash-tcp'];
    const port = await freePort();
    await server(tcpCg, undefined, port);
    await server(tcpCg, SERVER_NS, 5203);
    dropFirstSyn(5203);
    const closed = await freePort();
    const load: Array<Promise<unknown>> = [
      runIn(tcpCg, process.execPath, [TCP_WORKLOAD, 'connects', '127.0.0.1', String(port), '400', '2000']),
      runIn(tcpCg, tool('ip'), ['netns', 'exec', CLIENT_NS, process.execPath, TCP_WORKLOAD, 'connect-once', SERVER_ADDR, '5203']),
      ...[1, 2, 3].map(() => runIn(tcpCg, process.execPath, [TCP_WORKLOAD, 'connect-once', '127.0.0.1', String(closed)])),
      // scheduler: three spinners on CPU 0 wait for each other
      runIn(cgroups['dash-sched'], sched, ['spin', '3', String(LOAD_S / 2), '0']),
      // locks: mmap_lock contention, and futex waits on a held mutex
      runIn(cgroups['dash-locks'], locks, ['mmap', '4', String(LOAD_S / 2)]),
      runIn(cgroups['dash-locks'], locks, ['mutex', '3', '40', '5']),
      // block I/O: direct writes (one request each) every half second; page faults, from user code and the kernel
      runIn(cgroups['dash-io'], 'sh', [
        '-c',
        `for i in $(seq ${LOAD_S}); do dd if=/dev/zero of="$0" bs=4096 count=20 oflag=direct status=none; ${faults} user 2000; ${faults} kernel 2000; sleep 0.5; done; rm -f "$0"`,
        path.join(os.tmpdir(), `kotel-dash-io-${process.pid}`),
      ]),
      // memory: the 96 MiB read again every second for LOAD_S seconds (reclaimed each time: a series' rate
      // needs increases between scrapes), a compaction asked for, then overrunning the limit (OOM-killed)
      runIn(
        cgroups['dash-mem'],
        ...memLimit.command('sh', [
          '-c',
          `end=$(($(date +%s) + ${LOAD_S})); while [ $(date +%s) -lt $end ]; do dd if="$0" of=/dev/null bs=1M count=96 status=none; sleep 1; done`,
          pageCache.path!,
        ]),
      )
        .then(() => runIn(cgroups['dash-mem'], 'sh', ['-c', 'echo 1 > /proc/sys/vm/compact_memory']))
        .then(() => runIn(cgroups['dash-mem'], ...memLimit!.command(faults, ['user', String(32768)])).catch(() => undefined)),
      // Unix sockets: a ping-pong, 200 round trips every half second
      runIn(cgroups['dash-unix'], 'sh', [
        '-c',
        `for i in $(seq ${LOAD_S}); do "$0" server "$1" 200 64 > /dev/null & sleep 0.2; "$0" client "$1" 200 64 > /dev/null; wait; sleep 0.3; done; rm -f "$1"`,
        pingpong,
        path.join(os.tmpdir(), `kotel-dash-unix-${process.pid}.sock`),
      ]),
      // RDMA on the fake HCA: objects and connections held, and QP churn (with the workload's failing verb)
      runIn(cgroups['dash-rdma'], RDMA_WORKLOAD, ['--qps', '0', '--mrs', '0', '--churn', '500']).catch(() => undefined),
    ];
    held = new Workload(cgroups['dash-rdma'], RDMA_WORKLOAD, ['--hold', '--qps', '2', '--mrs', '2']);
    await held.ready();
    await Promise.all(load);
    await new Promise((r) => setTimeout(r, scaled(LOAD_S * 1000) / 2 + 3 * SCRAPE_S * 1000));
  });

  after(async () => {
    await held?.finish().catch(() => undefined);
    for (const c of children) c.kill();
    await prom?.stop();
    await agent?.stop();
    await receiver?.close();
    removeTestHosts();
    memLimit?.remove();
    pageCache?.remove();
    for (const cg of Object.values(cgroups)) cg.remove();
  });

  /** the variables' values as Grafana resolves them, in order (a variable may use the ones before it) */
  async function resolveVariables(d: Dashboard, builtins: Record<string, string>): Promise<Record<string, string>> {
    const values: Record<string, string> = { ...builtins };
    for (const v of d.templating.list) {
      const { selector, label } = labelValues(interpolate(variableQuery(v), values));
      const found = await prom.labelValues(label, selector);
      assert.ok(found.length > 0, `${d.title}: variable ${v.name} (${variableQuery(v)}) has values`);
      values[v.name] = v.includeAll ? (v.allValue ?? found.join('|')) : found[0];
    }
    return values;
  }

  for (const { file, dashboard } of loadDashboards()) {
    test(`${dashboard.title} (${file}): every variable has values and every panel's query returns data`, async (t) => {
      const family = dashboard.uid.replace(/^kotel-/, '');
      if ([...cannot].some((k) => k.startsWith(`${family}/`)))
        return t.skip(`the ${family} family cannot attach here (no BPF trampolines)`);
      const end = now();
      const builtins = builtinVariables(SCRAPE_S, SCRAPE_S, end - start);
      const values = await resolveVariables(dashboard, builtins);
      const empty: string[] = [];
      for (const panel of dashboard.panels) {
        for (const t of panel.targets ?? []) {
          const expr = interpolate(t.expr, values);
          const series = t.instant ? await prom.query(expr, end) : await prom.queryRange(expr, start, end, SCRAPE_S);
          if (!hasData(series)) empty.push(`${panel.title} [${t.refId}]: ${expr}`);
        }
      }
      assert.deepEqual(empty, [], 'panels without data');
    });
  }

  test('the check finds no data for a misspelt metric or a label value kotel does not have', async () => {
    const end = now();
    assert.equal(hasData(await prom.queryRange('sum by (le) (rate(tcp_rtt_secondz_bucket[8s]))', start, end, SCRAPE_S)), false);
    assert.equal(hasData(await prom.query('rdma_resource_active{rdma_source="ib_core"}', end)), false);
    assert.equal(hasData(await prom.query('sum(kotel_probe_attached)', end)), true);
  });
});
