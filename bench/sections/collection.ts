// 4. Collection and export cost against the number of series: the real agent (TCP family) exports OTLP
// gRPC every second to a receiver in this process; the agent's own per-cgroup maps are filled with 1k, 10k
// or 100k extra series (half histograms, half counters) through bench/tools/map_fill.c, and the agent's CPU
// over a window is divided by the collections the receiver got in it (one collection: several requests).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findCgroup2Mount } from '../../agent/src/host/cgroups';
import { CHUNK_SLOTS } from '../../agent/src/kernel/exponentialBuckets';
import { startOtlpReceiver } from '../../test/helpers/otlpReceiver';
import { startBenchAgent, type BenchAgent } from '../lib/agent';
import { BENCH_SRC, BUILD } from '../lib/paths';
import { familyStatus } from '../lib/discover';
import { cpuTimes, run, sleep } from '../lib/proc';
import { figure, notMeasured, withTarget, type Figure, type SectionResult } from '../lib/result';

/** a histogram series' one entry (bpf/kotel.h): struct kotel_hist, sum_ns then CHUNK_SLOTS slots; its
 * value in slot 400 at scale 4, so in chunk 400 / CHUNK_SLOTS */
const HIST_BYTES = 8 * (1 + CHUNK_SLOTS);
const HIST_SLOT = 400;
const FIRST_KIND = 1000; // kinds no real TCP event uses: errno_1000.., state_1000..
const SERIES = [0, 1000, 10_000, 100_000];
/** room for 50k entries in each per-cgroup map (families.tcp.maxCgroupKeys) */
const MAX_KEYS = 60_000;

/** map name (as the kernel truncates it) → id, for the maps a process holds */
async function mapIdsOf(pid: number): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fdinfo`)) {
    let info: string;
    try {
      info = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    const m = /map_id:\s+(\d+)/.exec(info);
    if (!m) continue;
    const show = JSON.parse(await run('bpftool', ['map', 'show', 'id', m[1], '--json'])) as { name: string };
    ids.set(show.name, Number(m[1]));
  }
  return ids;
}

function key(cgroupId: number, kind: number, chunk: number): Buffer {
  const k = Buffer.alloc(16);
  k.writeBigUInt64LE(BigInt(cgroupId), 0);
  k.writeUInt32LE(kind, 8);
  k.writeUInt32LE(chunk, 12);
  return k;
}

/** bench/tools/map_fill, built once */
async function mapFill(): Promise<string> {
  const out = path.join(BUILD, 'map_fill');
  if (!fs.existsSync(out)) {
    fs.mkdirSync(BUILD, { recursive: true });
    await run('cc', ['-O2', '-Wall', '-Werror', '-o', out, path.join(BENCH_SRC, 'tools', 'map_fill.c'), '-lbpf']);
  }
  return out;
}

/** sets (or deletes) series [from, to) in both maps (bench/tools/map_fill: every CPU gets the value) */
async function setSeries(ids: { hist: number; counter: number }, cgroupId: number, from: number, to: number, del: boolean): Promise<void> {
  if (to <= from) return;
  const hist = Buffer.alloc(HIST_BYTES);
  hist.writeBigUInt64LE(1_000_000n, 0); // sum_ns
  hist.writeBigUInt64LE(1n, 8 * (1 + (HIST_SLOT % CHUNK_SLOTS)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64LE(1n, 0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-bench-'));
  try {
    for (const [id, value, half, chunk] of [
      [ids.hist, hist, 0, Math.floor(HIST_SLOT / CHUNK_SLOTS)],
      [ids.counter, counter, 1, 0],
    ] as const) {
      const records: Buffer[] = [];
      for (let i = from; i < to; i++)
        if (i % 2 === half) records.push(key(cgroupId, FIRST_KIND + (i >> 1), chunk), ...(del ? [] : [value]));
      const file = path.join(dir, `${id}.bin`);
      fs.writeFileSync(file, Buffer.concat(records));
      await run(await mapFill(), [String(id), file, ...(del ? ['delete'] : [])]);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function collectionSection(o: { reps: number; seconds: number }): Promise<SectionResult> {
  const figures: Figure[] = [];
  const notes: string[] = [];
  const section = { id: 'collection', title: '4. Collection + OTLP export cost against the number of series', figures, notes };
  const tcp = familyStatus('tcp');
  if (!tcp.available) {
    figures.push(notMeasured('CPU per collection and export', `not measured: ${tcp.missing}`));
    return section;
  }
  const mount = findCgroup2Mount();
  const rootId = mount ? fs.statSync(mount).ino : 1;
  const receiver = await startOtlpReceiver();
  let agent: BenchAgent | undefined;
  const cpuMs: Record<number, number[]> = Object.fromEntries(SERIES.map((n) => [n, []]));
  const systemMs: Record<number, number[]> = Object.fromEntries(SERIES.map((n) => [n, []]));
  const points: Record<number, number[]> = Object.fromEntries(SERIES.map((n) => [n, []]));
  try {
    // a fresh agent (fresh maps) per repetition: deleting and re-adding thousands of per-CPU entries in a
    // row fails with ENOMEM (per-CPU memory is freed after an RCU grace period)
    // 100k series cost more than a second of CPU per collection: they get an interval well above that
    const groups = [
      { intervalMs: 1000, series: SERIES.filter((n) => n < 100_000) },
      { intervalMs: 10_000, series: SERIES.filter((n) => n >= 100_000) },
    ];
    for (let rep = 0; rep < o.reps; rep++) {
      for (const { intervalMs, series } of groups) {
        agent = await startBenchAgent({
          families: ['tcp'],
          otlp: `127.0.0.1:${receiver.grpcPort}`,
          metricsIntervalMs: intervalMs,
          extraConfig: [`families:\n  tcp:\n    maxCgroupKeys: ${MAX_KEYS}`],
        });
        const maps = await mapIdsOf(agent.pid);
        const ids = { hist: maps.get('tcp_connect_his')!, counter: maps.get('tcp_retransmits')! };
        if (!ids.hist || !ids.counter)
          throw new Error(`bench: the agent holds no tcp_connect_hist/tcp_retransmits maps (${[...maps.keys()].join(', ')})`);
        let current = 0;
        for (const n of series) {
          await setSeries(ids, rootId, current, n, false);
          current = n;
          // a collection goes as several requests (otlp.maxRequestBytes): collections are told apart by the
          // time the kernel producer stamps on all of its points, and one the window cut counts for its share
          const kernel = () => receiver.metrics().filter((p) => p.name === 'tcp.connect.duration' || p.name === 'tcp.retransmits');
          const collections = () => {
            const byTime = new Map<bigint, number>();
            for (const p of kernel()) byTime.set(p.timeUnixNano, (byTime.get(p.timeUnixNano) ?? 0) + 1);
            const whole = Math.max(0, ...byTime.values());
            return whole ? [...byTime.values()].reduce((a, b) => a + b, 0) / whole : 0;
          };
          receiver.reset();
          // two collections with the new series before measuring
          await receiver.waitFor(() => collections() >= 2, 120_000 + 3 * intervalMs, 'two collections');
          receiver.reset();
          const c0 = cpuTimes(agent.pid);
          // a few collections at least, however long one takes
          await sleep(Math.max(o.seconds * 1000, 3 * intervalMs));
          const c1 = cpuTimes(agent.pid);
          const cpu = c1.user + c1.system - c0.user - c0.system;
          const seen = collections();
          const kernelPoints = kernel().length;
          receiver.reset();
          if (seen > 0) {
            cpuMs[n].push((cpu * 1000) / seen);
            systemMs[n].push(((c1.system - c0.system) * 1000) / seen);
            points[n].push(kernelPoints / seen);
          }
        }
        await agent.stop();
        agent = undefined;
      }
    }
    figures.push(figure('baseline (TCP family, no extra series): CPU per collection + export', 'ms', cpuMs[0]));
    for (const n of SERIES.slice(1)) {
      const f = figure(`${n / 1000}k series: CPU per collection + export`, 'ms', cpuMs[n], {
        note: `${Math.round(points[n][0] ?? 0)} TCP points per collection seen by the receiver`,
      });
      figures.push(n === 10_000 ? withTarget(f, '< 50 ms', (m) => m < 50) : f);
      // the kernel's part: map batch reads, the socket writes of the export
      figures.push(figure(`${n / 1000}k series: of which system (kernel) time`, 'ms', systemMs[n]));
      const base = cpuMs[0];
      figures.push(
        figure(
          `${n / 1000}k series: minus baseline`,
          'ms',
          cpuMs[n].map((v, i) => v - (base[i] ?? NaN)),
        ),
      );
    }
    notes.push(
      `Agent CPU (user+system, /proc) over ${o.seconds} s windows ÷ collections received in them (interval 1 s; 100k series: 10 s, over three intervals; cumulative, gRPC); half the series are histograms (one bucket in use, scale 4: one map entry; a series spanning n octaves has n), half counters, all on the root cgroup. CPU here includes the Node/SDK idle work of that second. Each collection goes as requests of at most otlp.maxRequestBytes (3 MiB, estimated from above): 100k series are ~12 MB of OTLP, past the 4 MiB a Collector takes in one request by default.`,
    );
  } finally {
    await agent?.stop();
    await receiver.close();
  }
  return section;
}
