// 5. Footprint: the agent's RSS and CPU with every built family on, on an idle host (OTLP export every
// 10 s to a receiver in this process; then again with the console report on) and under the section-2
// workloads (measured there).
import { startOtlpReceiver } from '../../test/helpers/otlpReceiver';
import { startBenchAgent, type BenchAgent } from '../lib/agent';
import { sleep } from '../lib/proc';
import { figure, notMeasured, withTarget, type Figure, type SectionResult } from '../lib/result';
import type { AgentUnderLoad } from './overhead';

/** CPU (% of one core) and RSS (MB) of the idle agent, per window */
async function idleFootprint(o: { windows: number; seconds: number; families: string[] }, consoleOn: boolean) {
  const receiver = await startOtlpReceiver();
  let agent: BenchAgent | undefined;
  const cpu: number[] = [];
  const rss: number[] = [];
  try {
    agent = await startBenchAgent({
      families: o.families,
      otlp: `127.0.0.1:${receiver.grpcPort}`,
      metricsIntervalMs: 10_000,
      console: consoleOn,
    });
    // start-up work done: loading, and the first collection and export (kallsyms, the gRPC channel)
    await receiver.waitFor(() => receiver.requests().metrics > 0, 30_000, 'the first OTLP export');
    await sleep(3000);
    for (let i = 0; i < o.windows; i++) {
      const c0 = agent.cpuSeconds();
      const t0 = Date.now();
      await sleep(o.seconds * 1000);
      cpu.push(((agent.cpuSeconds() - c0) / ((Date.now() - t0) / 1000)) * 100);
      rss.push(agent.rssMb());
      receiver.reset();
    }
  } finally {
    await agent?.stop();
    await receiver.close();
  }
  return { cpu, rss };
}

export async function footprintSection(o: {
  windows: number;
  seconds: number;
  families: string[];
  underLoad?: AgentUnderLoad;
}): Promise<SectionResult> {
  const figures: Figure[] = [];
  const notes: string[] = [];
  const section = { id: 'footprint', title: '5. Agent footprint', figures, notes };
  if (o.families.length === 0) {
    figures.push(notMeasured('agent RSS and CPU', 'no family built yet'));
    return section;
  }
  const quiet = await idleFootprint(o, false);
  figures.push(withTarget(figure('idle host: agent CPU', '% of one core', quiet.cpu), '< 0.5%', (m) => m < 0.5));
  figures.push(withTarget(figure('idle host: agent RSS', 'MB', quiet.rss), '< 100 MB', (m) => m < 100));
  const reporting = await idleFootprint(o, true);
  figures.push(figure('idle host, console report on: agent CPU', '% of one core', reporting.cpu));
  figures.push(figure('idle host, console report on: agent RSS', 'MB', reporting.rss));
  if (o.underLoad?.cores.length) {
    figures.push(
      figure(
        'under the section-2 workloads: agent CPU',
        '% of one core',
        o.underLoad.cores.map((c) => c * 100),
      ),
    );
    figures.push(figure('under the section-2 workloads: agent RSS', 'MB', o.underLoad.rssMb));
  } else {
    figures.push(notMeasured('under the section-2 workloads', 'section 2 did not run'));
  }
  notes.push(
    `Families on: ${o.families.join(', ')}. Idle: ${o.windows} window(s) of ${o.seconds} s, console off, then on (its report every console.interval); windows start 3 s after the first export arrived; CPU = user+system time from /proc ÷ wall time. "Idle" is the bench's own host: other processes may be running (see the machine notes).`,
  );
  return section;
}
