// RDMA verbs through the real libibverbs on the fake provider (test/fixtures/rdma, via
// bench/workloads/rdma_verbs.sh): the time of one ibv_create_qp + ibv_destroy_qp pair with kotel's rdma
// family attached and without (alternating), and whether kotel kept up with every QP record at that rate.
import * as path from 'node:path';
import { scrape, startBenchAgent, type BenchAgent } from '../lib/agent';
import { ROOT } from '../lib/paths';
import { run } from '../lib/proc';
import { figure, type Figure } from '../lib/result';

const SCRIPT = path.join(ROOT, 'bench', 'workloads', 'rdma_verbs.sh');
// without kotel a pair takes ~0.5 µs: more of them for a stable mean
const QPS = { off: 200_000, kotel: 20_000 };

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
        await new Promise((r) => setTimeout(r, 300)); // the agent drains the ring every 100 ms
        const dropped = (await scrape(agent.promPort!)).find(
          (s) =>
            s.name === 'kotel_events_dropped_total' && s.labels.kotel_family === 'rdma' && s.labels.kotel_drop_reason === 'ringbuf_full',
        );
        lost.push(dropped?.value ?? 0);
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
