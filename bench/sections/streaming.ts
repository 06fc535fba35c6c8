// 3. Streaming ceiling: records per second from a ring buffer into the TypeScript pipeline with zero
// loss, and the consumer's CPU at 100k and 1M records/s. Source: bench/bpf/stream.bpf.c driven by
// bench/workloads/trigger (PER_CALL records per getpgid call, paced in 1 ms ticks); consumer: a child
// process (bench/streamConsumer.ts) decoding every record as the families' handlers do.
import * as path from 'node:path';
import { RING_DRAIN_MS } from '../../agent/src/kernel/ringConsumer';
import { buildBpf, workloadPath } from '../lib/build';
import { ensureTracefs } from '../lib/bpftrace';
import { cpuSeconds, run, sleep, spawnLines, type LineChild } from '../lib/proc';
import { figure, withTarget, type Figure, type SectionResult } from '../lib/result';

const PER_CALL = 100;
const RING_BYTES = 1 << 20;

interface Step {
  rate: number;
  produced: number;
  delivered: number;
  dropped: number;
  cores: number;
}

interface Stats {
  delivered: number;
  produced: number;
  dropped: number;
}

async function stats(consumer: LineChild): Promise<Stats> {
  const before = consumer.output().length;
  consumer.child.stdin!.write('stats\n');
  for (;;) {
    const tail = consumer.output().slice(before);
    const line = tail.split('\n').find((l) => l.startsWith('{'));
    if (line && tail.includes('\n')) return JSON.parse(line) as Stats;
    await sleep(10);
  }
}

async function step(consumer: LineChild, rate: number, seconds: number): Promise<Step> {
  const s0 = await stats(consumer);
  const c0 = cpuSeconds(consumer.child.pid!);
  await run(workloadPath('trigger'), [String(seconds), String(rate / PER_CALL), String(PER_CALL)]);
  await sleep(300); // let the consumer drain
  const s1 = await stats(consumer);
  const cpu = cpuSeconds(consumer.child.pid!) - c0;
  const produced = s1.produced - s0.produced;
  return {
    rate: produced / seconds,
    produced,
    delivered: s1.delivered - s0.delivered,
    dropped: s1.dropped - s0.dropped,
    cores: cpu / seconds,
  };
}

const lossless = (s: Step) => s.dropped === 0 && s.delivered === s.produced;

export async function streamingSection(o: { reps: number; seconds: number }): Promise<SectionResult> {
  const figures: Figure[] = [];
  const notes: string[] = [];
  ensureTracefs();
  const obj = await buildBpf('stream');
  const consumer = spawnLines(process.execPath, [path.join(__dirname, '..', 'streamConsumer.js'), obj, String(RING_BYTES)], {
    stdin: true,
  });
  try {
    await consumer.waitFor(/ready/, 30_000);
    const ladder = [100e3, 250e3, 500e3, 1e6, 2e6, 4e6, 8e6];
    let ceiling: Step | undefined;
    let firstLoss: Step | undefined;
    for (const rate of ladder) {
      const s = await step(consumer, rate, o.seconds);
      if (!lossless(s)) {
        firstLoss = s;
        break;
      }
      ceiling = s;
      if (s.rate < rate * 0.8) {
        notes.push(
          `the source could not reach ${rate / 1e6}M records/s (got ${(s.rate / 1e6).toFixed(2)}M/s): the ceiling is at least this`,
        );
        break;
      }
    }
    figures.push(
      withTarget(
        figure('highest rate with zero loss (ladder 0.1-8M/s, one run each)', 'records/s', ceiling ? [ceiling.rate] : []),
        '>= 1M/s',
        (m) => m >= 0.95e6,
      ),
    );
    if (firstLoss) {
      notes.push(
        `first rate with loss: ${(firstLoss.rate / 1e6).toFixed(2)}M records/s produced, ${firstLoss.delivered} delivered, ${firstLoss.dropped} dropped (ring full), consumer at ${(firstLoss.cores * 100).toFixed(0)}% of a core.`,
      );
    }
    const cores: Record<number, number[]> = { 100e3: [], 1e6: [] };
    const lost: Record<number, number> = { 100e3: 0, 1e6: 0 };
    for (let rep = 0; rep < o.reps; rep++) {
      for (const rate of rep % 2 ? [1e6, 100e3] : [100e3, 1e6]) {
        const s = await step(consumer, rate, o.seconds);
        cores[rate].push(s.cores * 100);
        lost[rate] += s.produced - s.delivered;
      }
    }
    figures.push(
      figure('consumer CPU at 100k records/s', '% of one core', cores[100e3], { note: `${lost[100e3]} records lost over all repetitions` }),
    );
    figures.push(
      withTarget(
        figure('consumer CPU at 1M records/s', '% of one core', cores[1e6], { note: `${lost[1e6]} records lost over all repetitions` }),
        '< 10% with zero loss',
        (m) => m < 10 && lost[1e6] === 0,
      ),
    );
    notes.push(
      `Records of 48 bytes, ${PER_CALL} per trigger call, ring buffer ${RING_BYTES >> 10} KiB, the families' wake-up policy (woken at half full, else drained every ${RING_DRAIN_MS} ms); consumer CPU = its user+system time ÷ the source's run time.`,
    );
  } finally {
    consumer.child.stdin!.end();
    await consumer.stop();
  }
  return { id: 'streaming', title: '3. Streaming: ring buffer → TypeScript pipeline', figures, notes };
}
