// RDMA verbs through the real libibverbs on the fake provider (test/fixtures/rdma, via
// bench/workloads/rdma_verbs.sh): the time of one ibv_create_qp + ibv_destroy_qp pair with kotel's rdma
// family attached and without (alternating), and whether kotel kept up with every QP record at that rate;
// and a burst: several processes churning QPs at once, with the records lost and the consumer's CPU.
import * as path from 'node:path';
import { scrape } from '../../test/helpers/scrape';
import { startBenchAgent, type BenchAgent } from '../lib/agent';
import { ROOT } from '../lib/paths';
import { cpuSeconds, run, sleep } from '../lib/proc';
import { figure, withTarget, type Figure } from '../lib/result';

const SCRIPT = path.join(ROOT, 'bench', 'workloads', 'rdma_verbs.sh');
/** where rdma_verbs.sh builds the fixtures */
const FIXTURES = process.env.KOTEL_RDMA_FIXTURES ?? '/tmp/kotel-rdma-fixtures';
// without kotel a pair takes ~0.5 µs: more of them for a stable mean
const QPS = { off: 200_000, kotel: 20_000 };

/** the burst: BURST.processes workloads at once, each creating and destroying BURST.qps QPs (2 records each) */
export const BURST = { processes: 4, qps: 25_000 };

async function nsPerQp(qps: number): Promise<number> {
  const out = await run('taskset', ['-c', '0', 'bash', SCRIPT, '--qps', '0', '--mrs', '0', '--churn', String(qps)]);
  return JSON.parse(out.trim().split('\n').at(-1)!).churn_ns_per_qp as number;
}

export async function rdmaVerbFigures(reps: number): Promise<Figure[]> {
  const off: number[] = [];
  const on: number[] = [];
  const lost: number[] = [];
  for (let rep = 0; rep < reps; rep++) {
    for (const config of rep % 2 === 0 ? ['off', 'kotel'] : ['kotel', 'off']) {
      if (config === 'off') {
        off.push(await nsPerQp(QPS.off));
        continue;
      }
      const agent: BenchAgent = await startBenchAgent({ families: ['rdma'], prometheus: true });
      try {
        on.push(await nsPerQp(QPS.kotel));
        lost.push((await settled(agent)).lost);
      } finally {
        await agent.stop();
      }
    }
  }
  return [
    figure('rdma verbs: create+destroy QP pair, kotel off', 'ns', off),
    figure('rdma verbs: create+destroy QP pair, kotel on', 'ns', on),
    figure(
      'rdma verbs: time per verb call, kotel on ÷ off',
      'ratio',
      on.map((v, i) => v / off[i]),
    ),
    figure(
      'rdma verbs: verb calls/s one process makes with kotel on',
      'calls/s',
      on.map((ns) => 2e9 / ns),
    ),
    figure(`rdma verbs: QP records lost at that rate (of ${2 * QPS.kotel} per run)`, 'records', lost),
  ];
}

/** QP records lost: the ring full (counted in the kernel), or the agent's backlog full (in user space) */
async function ringFullDrops(port: number): Promise<number> {
  return (await scrape(port))
    .filter(
      (s) =>
        s.name === 'kotel_events_dropped_total' &&
        s.labels.kotel_family === 'rdma' &&
        (s.labels.kotel_drop_reason === 'ringbuf_full' || s.labels.kotel_drop_reason === 'backlog_full'),
    )
    .reduce((n, s) => n + s.value, 0);
}

/** waits until the agent has drained the ring: its CPU time (clock ticks) and the records lost stay
 * the same over 3 consecutive 250 ms windows (the BPF side wakes the consumer only when half full; the
 * agent also drains every 100 ms); returns the drops then */
async function settled(agent: BenchAgent, timeoutMs = 60_000): Promise<{ lost: number }> {
  let cpu = cpuSeconds(agent.pid);
  let lost = await ringFullDrops(agent.promPort!);
  for (let still = 0, end = Date.now() + timeoutMs; still < 3;) {
    if (Date.now() > end) throw new Error(`rdma burst: the agent did not settle within ${timeoutMs} ms`);
    await sleep(250);
    const c = cpuSeconds(agent.pid);
    const l = await ringFullDrops(agent.promPort!);
    // a scrape costs the agent a tick at most now and then: allow 10 ms of CPU per window
    still = l === lost && c - cpu <= 0.01 ? still + 1 : 0;
    cpu = c;
    lost = l;
  }
  return { lost };
}

/** one burst against a fresh agent (default rdma configuration): records lost, and the agent's CPU seconds
 * from the burst's start until it has drained everything */
export async function rdmaBurst(
  processes = BURST.processes,
  qps = BURST.qps,
): Promise<{ lost: number; cpuSeconds: number; seconds: number; rssMb: number; peakRssMb: number }> {
  const agent = await startBenchAgent({ families: ['rdma'], prometheus: true });
  let sampler: NodeJS.Timeout | undefined;
  try {
    await run('bash', [SCRIPT, '--qps', '0', '--mrs', '0', '--churn', '0']); // builds the fixtures once
    await settled(agent);
    const rss = agent.rssMb();
    let peakRssMb = rss;
    sampler = setInterval(() => (peakRssMb = Math.max(peakRssMb, agent.rssMb())), 100);
    const cpu0 = cpuSeconds(agent.pid);
    const t0 = Date.now();
    // the workload itself, not the script: its build step would rewrite the fake sysfs under the others
    const env = { ...process.env, SYSFS_PATH: path.join(FIXTURES, 'sysfs'), RDMAV_DRIVERS: path.join(FIXTURES, 'libkotelfake') };
    const args = ['--qps', '0', '--mrs', '0', '--churn', String(qps)];
    await Promise.all(Array.from({ length: processes }, () => run(path.join(FIXTURES, 'rdma-workload'), args, { env })));
    const { lost } = await settled(agent);
    return { lost, cpuSeconds: cpuSeconds(agent.pid) - cpu0, seconds: (Date.now() - t0) / 1000, rssMb: rss, peakRssMb };
  } finally {
    clearInterval(sampler);
    await agent.stop();
  }
}

export async function rdmaBurstFigures(reps: number): Promise<Figure[]> {
  const lost: number[] = [];
  const cpu: number[] = [];
  const perRecord: number[] = [];
  const rss: number[] = [];
  const records = 2 * BURST.processes * BURST.qps;
  for (let rep = 0; rep < reps; rep++) {
    const b = await rdmaBurst();
    lost.push(b.lost);
    cpu.push(b.cpuSeconds);
    perRecord.push((b.cpuSeconds * 1e6) / (records - b.lost));
    rss.push(b.peakRssMb - b.rssMb);
  }
  const what = `${BURST.processes} processes × ${BURST.qps} QPs at once`;
  return [
    withTarget(figure(`rdma burst: QP records lost, ${what} (of ${records})`, 'records', lost), '0 lost', (m) => m === 0),
    figure(`rdma burst: agent CPU from the burst's start until drained`, 's', cpu),
    figure('rdma burst: agent CPU per record consumed', 'µs', perRecord),
    figure('rdma burst: agent RSS growth at its peak (backlog, spans)', 'MB', rss),
  ];
}
