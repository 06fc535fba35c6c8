// npm run soak [-- --duration 1h] [-- --interval 10s]: the agent with every family that loads here, under
// mixed load for a long time (TCP request/response with reconnects, pipe ping-pong, mutex and mmap_lock
// contention with futex waits on, short-lived cgroups, RDMA verbs through the real libibverbs on the
// test's fake provider), exporting over OTLP/gRPC to a receiver and scraped over Prometheus. Samples the
// agent's RSS, V8 heap and CPU every interval; writes bench/results/soak.csv and soak.md (start/end/max,
// mean CPU, slope per hour after the warm-up). Flat is the goal. Never part of npm test.
import { Command, InvalidArgumentError } from 'commander';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startAgent, freePort, writeConfig } from '../test/helpers/agentProcess';
import { buildWorkload } from '../test/helpers/cbuild';
import { createCgroup } from '../test/helpers/cgroup';
import { startOtlpReceiver } from '../test/helpers/otlpReceiver';
import { buildRdmaFixtures, FAKE_SYSFS, fakeVerbsEnv, RDMA_WORKLOAD } from '../test/helpers/rdma';
import { scrape } from '../test/helpers/scrape';
import { buildWorkloads, workloadPath } from './lib/build';
import { RESULTS } from './lib/paths';
import { cpuSeconds, rssMb, run, sleep } from './lib/proc';
import { findCgroup2Mount } from '../agent/src/host/cgroups';

function duration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError('must be a duration: 300s, 5m, 1h');
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's']!;
}

interface Sample {
  s: number;
  rssMb: number;
  heapMb: number;
  cpuPct: number;
  series: number;
  dropped: number;
}

/** least-squares slope of y over x */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den ? num / den : NaN;
}

/** runs `step` again and again until `until`, pausing `pauseMs` in between; a failed step is counted */
async function loop(
  name: string,
  until: number,
  pauseMs: number,
  step: () => Promise<unknown>,
  failures: Map<string, string>,
): Promise<number> {
  let runs = 0;
  while (Date.now() < until) {
    try {
      await step();
      runs++;
    } catch (err) {
      if (!failures.has(name)) failures.set(name, (err as Error).message.split('\n')[0]);
    }
    await sleep(pauseMs);
  }
  return runs;
}

async function main(): Promise<void> {
  const opts = new Command()
    .option('--duration <time>', 'how long (300s, 5m, 1h)', duration, 3_600_000)
    .option('--interval <time>', 'sampling interval', duration, 10_000)
    .parse()
    .opts<{ duration: number; interval: number }>();
  await buildWorkloads();
  buildRdmaFixtures();
  const churn = buildWorkload('cgroup-churn');

  const receiver = await startOtlpReceiver();
  const promPort = await freePort();
  const config = writeConfig(`
families:
  tcp: { connectionSpans: true }
  sched: { offCpu: true }
  rdma: { sysfsRoot: ${FAKE_SYSFS}, libraryScanInterval: 5000 }
  locks: { futex: true, spanThresholdMs: 5 }
otlp: { endpoint: "http://127.0.0.1:${receiver.grpcPort}" }
metrics: { interval: 5000 }
prometheus: { port: ${promPort} }
console: { enabled: false }
log: { level: info }
`);
  const heapFile = path.join(os.tmpdir(), `kotel-soak-heap-${process.pid}.jsonl`);
  fs.rmSync(heapFile, { force: true });
  const probe = path.resolve(__dirname, 'lib', 'heapProbe.js');
  const agent = startAgent(['run', '--config', config], {
    NODE_OPTIONS: `--require ${probe}`,
    KOTEL_SOAK_HEAP_FILE: heapFile,
    KOTEL_SOAK_HEAP_MS: String(Math.min(opts.interval, 5000)),
  });
  const running = await agent.waitFor(/kotel running: ([^(]*)\((\d+) probes attached\)/, 60_000);
  const pid = agent.child.pid!;
  // interrupted: do not leave the agent running
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void agent.stop().then(() => process.exit(130)));
  console.log(
    `soak: agent ${pid} running ${running[1].trim()} (${running[2]} probes), ${opts.duration / 1000} s, sample every ${opts.interval / 1000} s`,
  );

  // a server for the short-lived cgroups' connects
  const server = net.createServer((s) => s.destroy()).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const serverPort = (server.address() as net.AddressInfo).port;
  const parent = createCgroup('soak');
  const mount = findCgroup2Mount()!;
  const until = Date.now() + opts.duration;
  const failures = new Map<string, string>();
  let cgroupsMade = 0;
  const loads = {
    tcp_rr: loop('tcp_rr', until, 2000, () => run(workloadPath('tcp_rr'), ['5', '100']), failures),
    pingpong: loop('pingpong', until, 2000, () => run(workloadPath('pingpong'), ['3']), failures),
    mutex: loop('mutex', until, 2000, () => run(workloadPath('mutex'), ['3', '4']), failures),
    mmap: loop('mmap', until, 3000, () => run(workloadPath('mmap'), ['2', '2']), failures),
    rdma: loop(
      'rdma',
      until,
      1000,
      () => run(RDMA_WORKLOAD, ['--qps', '4', '--mrs', '2', '--churn', '20'], { env: fakeVerbsEnv() }),
      failures,
    ),
    cgroups: loop(
      'cgroups',
      until,
      1000,
      async () => {
        // ~5 new cgroups a second: busy container churn (at 50/s the per-cgroup maps fill: map_full drops)
        await run(churn, ['churn', path.join(mount, parent.path), String(cgroupsMade), '10', '2', String(serverPort)]);
        cgroupsMade += 10;
      },
      failures,
    ),
  };

  const samples: Sample[] = [];
  const t0 = Date.now();
  let lastCpu = cpuSeconds(pid);
  let lastT = t0;
  while (Date.now() < until) {
    await sleep(Math.min(opts.interval, until - Date.now()));
    if (agent.child.exitCode !== null) throw new Error(`the agent exited ${agent.child.exitCode}: ${agent.stderr().slice(-1000)}`);
    const now = Date.now();
    const cpu = cpuSeconds(pid);
    const heapLine = fs.existsSync(heapFile) ? fs.readFileSync(heapFile, 'utf8').trim().split('\n').at(-1) : undefined;
    const heap = heapLine ? (JSON.parse(heapLine) as { heapUsed: number }).heapUsed / 2 ** 20 : NaN;
    const scraped = await scrape(promPort).catch(() => []);
    const dropped = scraped.filter((p) => p.name === 'kotel_events_dropped_total').reduce((a, p) => a + p.value, 0);
    const s: Sample = {
      s: (now - t0) / 1000,
      rssMb: rssMb(pid),
      heapMb: heap,
      cpuPct: (100 * (cpu - lastCpu)) / ((now - lastT) / 1000),
      series: scraped.length,
      dropped,
    };
    samples.push(s);
    lastCpu = cpu;
    lastT = now;
    receiver.reset(); // the receiver keeps what it decodes: only the agent's memory is measured
    console.log(
      `${s.s.toFixed(0).padStart(6)} s  RSS ${s.rssMb.toFixed(1)} MB  heap ${s.heapMb.toFixed(1)} MB  CPU ${s.cpuPct.toFixed(1)} %  series ${s.series}  dropped ${s.dropped}`,
    );
  }
  const runs = Object.fromEntries(await Promise.all(Object.entries(loads).map(async ([k, p]) => [k, await p] as const)));
  const code = await agent.stop();
  server.close();
  parent.remove();
  fs.rmSync(heapFile, { force: true });
  await receiver.close();

  // the first 10 % (at least one sample) is warm-up: JIT, first collections, maps filling
  const steady = samples.slice(Math.max(1, Math.floor(samples.length / 10)));
  const perHour = (k: 'rssMb' | 'heapMb') =>
    slope(
      steady.map((x) => x.s / 3600),
      steady.map((x) => x[k]),
    );
  const stats = (k: 'rssMb' | 'heapMb') => ({
    start: samples[0][k],
    end: samples.at(-1)![k],
    max: Math.max(...samples.map((x) => x[k])),
    slopePerHour: perHour(k),
  });
  const summary = {
    date: new Date().toISOString(),
    kernel: os.release(),
    durationS: opts.duration / 1000,
    intervalS: opts.interval / 1000,
    families: running[1].trim(),
    probes: Number(running[2]),
    rssMb: stats('rssMb'),
    heapMb: stats('heapMb'),
    meanCpuPct: samples.reduce((a, x) => a + x.cpuPct, 0) / samples.length,
    maxSeries: Math.max(...samples.map((x) => x.series)),
    dropped: samples.at(-1)!.dropped,
    workloadRuns: { ...runs, cgroupsCreated: cgroupsMade },
    workloadFailures: Object.fromEntries(failures),
    agentExit: code,
  };
  fs.mkdirSync(RESULTS, { recursive: true });
  fs.writeFileSync(
    path.join(RESULTS, 'soak.csv'),
    [
      's,rss_mb,heap_mb,cpu_pct,series,dropped',
      ...samples.map((x) => [x.s.toFixed(1), x.rssMb.toFixed(2), x.heapMb.toFixed(2), x.cpuPct.toFixed(2), x.series, x.dropped].join(',')),
    ].join('\n') + '\n',
  );
  const f = (n: number) => n.toFixed(1);
  const md = [
    `# kotel soak, ${summary.date}`,
    '',
    `Kernel ${summary.kernel}; ${summary.durationS} s, a sample every ${summary.intervalS} s; families ${summary.families} (${summary.probes} probes).`,
    `Load: ${Object.entries(summary.workloadRuns)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}${failures.size ? `; failures: ${JSON.stringify(summary.workloadFailures)}` : ''}.`,
    '',
    '| | start | end | max | slope (after warm-up) |',
    '|---|---|---|---|---|',
    `| RSS | ${f(summary.rssMb.start)} MB | ${f(summary.rssMb.end)} MB | ${f(summary.rssMb.max)} MB | ${f(summary.rssMb.slopePerHour)} MB/h |`,
    `| V8 heap used | ${f(summary.heapMb.start)} MB | ${f(summary.heapMb.end)} MB | ${f(summary.heapMb.max)} MB | ${f(summary.heapMb.slopePerHour)} MB/h |`,
    '',
    `Mean CPU ${f(summary.meanCpuPct)} % of one core; at most ${summary.maxSeries} Prometheus samples; ${summary.dropped} events dropped; agent exit ${code}.`,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(RESULTS, 'soak.md'), md);
  fs.writeFileSync(path.join(RESULTS, 'soak.json'), JSON.stringify(summary, null, 2) + '\n');
  console.log(`\n${md}\nwritten: bench/results/soak.{csv,md,json}`);
}

main().catch((err) => {
  console.error(`soak: ${(err as Error).message}`);
  process.exit(1);
});
