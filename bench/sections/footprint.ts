// 5. Footprint: the agent's RSS and CPU with every built family on, on an idle host (OTLP export every
// 10 s to a receiver in this process) and under the section-2 workloads (measured there).
import { startOtlpReceiver } from '../../test/helpers/otlpReceiver';
import { startBenchAgent, type BenchAgent } from '../lib/agent';
import { sleep } from '../lib/proc';
import { figure, notMeasured, withTarget, type Figure, type SectionResult } from '../lib/result';
import type { AgentUnderLoad } from './overhead';

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
  const receiver = await startOtlpReceiver();
  let agent: BenchAgent | undefined;
  const cpu: number[] = [];
  const rss: number[] = [];
  try {
    agent = await startBenchAgent({ families: o.families, otlp: `127.0.0.1:${receiver.grpcPort}`, metricsIntervalMs: 10_000 });
    await sleep(3000); // start-up work done
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
  figures.push(withTarget(figure('idle host: agent CPU', '% of one core', cpu), '< 1%', (m) => m < 1));
  figures.push(withTarget(figure('idle host: agent RSS', 'MB', rss), '< 120 MB', (m) => m < 120));
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
    `Families on: ${o.families.join(', ')}. Idle: ${o.windows} window(s) of ${o.seconds} s; CPU = user+system time from /proc ÷ wall time. "Idle" is the bench's own host: other processes may be running (see the machine notes).`,
  );
  return section;
}
