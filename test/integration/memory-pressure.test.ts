// The memory family under a cgroup's memory limit, end to end: the real agent, scraped over Prometheus.
// Reclaim stalls: a workload reads a disk through the page cache in a cgroup limited to far less; each
// charge that finds the cgroup full reclaims. Checked against bpftrace on the same tracepoints (count,
// pages freed, time) and, on cgroup2, against the cgroup's own memory.events (max) and memory.stat
// (pgsteal_direct). OOM kills: a workload touches more anonymous memory than the limit (no swap), and the
// cgroup's memory.events (v2) or memory.oom_control (v1) counts the kill.
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { startScrapedAgent, type ScrapedAgent } from '../helpers/scrapedAgent';
import { startBpftrace } from '../helpers/bpftrace';
import { buildWorkload, removeWorkloads } from '../helpers/cbuild';
import { createCgroup, type TestCgroup } from '../helpers/cgroup';
import { limitMemory, pageCacheSource, type MemoryLimit, type PageCacheSource } from '../helpers/memoryLimit';
import { scrape } from '../helpers/scrape';
import { TIME_SCALE } from '../helpers/timing';
import { tool } from '../helpers/tools';

const MiB = 1 << 20;
const LIMIT = 32 * MiB;
const READ_MIB = 160;

/** the memory metrics of one cgroup, as scraped */
async function memoryOf(port: number, cgroupId: number) {
  const out = { reclaims: 0, reclaimSeconds: 0, reclaimPages: 0, oomKills: 0 };
  for (const s of await scrape(port)) {
    if (s.labels.cgroup_id !== String(cgroupId)) continue;
    const memcg = s.labels.memory_reclaim_kind === 'memcg';
    if (s.name === 'memory_reclaim_duration_seconds_count' && memcg) out.reclaims = s.value;
    if (s.name === 'memory_reclaim_duration_seconds_sum' && memcg) out.reclaimSeconds = s.value;
    if (s.name === 'memory_reclaim_pages_total' && memcg) out.reclaimPages = s.value;
    if (s.name === 'memory_oom_kills_total') out.oomKills = s.value;
  }
  return out;
}

/** runs a command to its end: its exit code, or the signal that ended it */
function run(cmd: string, args: string[], cg: TestCgroup): Promise<{ code: number | null; signal: string | null; err: string }> {
  return new Promise((resolve) => {
    const child = cg.spawn(cmd, args);
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.on('exit', (code, signal) => resolve({ code, signal, err }));
  });
}

describe('memory family under a memory limit (root, real kernel, Prometheus scrape, bpftrace reference)', () => {
  let kotel: ScrapedAgent;
  let port: number;
  const cleanups: Array<() => void> = [];
  let source: PageCacheSource;

  before(async () => {
    buildWorkload('fault-workload');
    source = pageCacheSource(READ_MIB);
    cleanups.push(() => source.remove());
    kotel = await startScrapedAgent('memory');
    port = kotel.port;
  });

  after(async () => {
    await kotel?.stop();
    for (const f of cleanups.reverse()) f();
    removeWorkloads();
  });

  function limited(name: string): { cg: TestCgroup; limit: MemoryLimit } {
    const cg = createCgroup(name);
    const limit = limitMemory(cg, LIMIT);
    cleanups.push(() => (limit.remove(), cg.remove()));
    return { cg, limit };
  }

  test(`${READ_MIB} MiB read through the page cache under a ${LIMIT / MiB} MiB limit: memcg reclaim stalls and the pages they freed, as bpftrace and the cgroup count them`, async (t) => {
    if (!source.path) return t.skip(source.none);
    const { cg, limit } = limited('reclaim');
    const tracer = await startBpftrace(`
      tracepoint:vmscan:mm_vmscan_memcg_reclaim_begin /cgroup == ${cg.id}/ { @start[tid] = nsecs; }
      tracepoint:vmscan:mm_vmscan_memcg_reclaim_end /@start[tid]/ {
        @n = count(); @pages = sum(args->nr_reclaimed); @ns = sum(nsecs - @start[tid]); delete(@start[tid]);
      }`);
    const before = limit.counts();
    const [cmd, args] = limit.command(tool('dd'), [`if=${source.path}`, 'of=/dev/null', 'bs=1M', `count=${READ_MIB}`, 'status=none']);
    const r = await run(cmd, args, cg);
    const counts = limit.counts();
    const out = await tracer.stop();
    assert.equal(r.code, 0, `dd: ${r.signal ?? r.err}`);
    const traced = (name: string) => Number(new RegExp(`@${name}: (\\d+)`).exec(out)?.[1] ?? 0);
    const kotel = await memoryOf(port, cg.id);
    console.log(
      `# kotel ${JSON.stringify(kotel)}; bpftrace ${traced('n')} reclaims, ${traced('pages')} pages, ${traced('ns')} ns; the cgroup (v${limit.version}) ${JSON.stringify(before)} -> ${JSON.stringify(counts)}`,
    );
    // reading 5x the limit through the cache: most of it reclaimed
    assert.ok(traced('pages') >= ((READ_MIB - (2 * LIMIT) / MiB) * MiB) / 4096, `bpftrace: ${out}`);
    assert.equal(kotel.reclaims, traced('n'), 'reclaims');
    assert.equal(kotel.reclaimPages, traced('pages'), 'pages reclaimed');
    // both time each reclaim between the same tracepoints: each program runs next to the other's, a few us
    // apart at either end (here: 2 us; emulated guests are slower)
    const seconds = traced('ns') / 1e9;
    assert.ok(
      Math.abs(kotel.reclaimSeconds - seconds) <= 0.02 * seconds + kotel.reclaims * 5e-6 * TIME_SCALE,
      `time reclaiming: kotel ${kotel.reclaimSeconds} s, bpftrace ${seconds} s`,
    );
    if (limit.version === 2) {
      // memory.events max: each charge that found the cgroup full and reclaimed, and those forced through
      // without reclaiming (atomic, __GFP_NOFAIL: a few; one of 521 in a 6.12 guest)
      const forced = counts.maxEvents! - before.maxEvents! - kotel.reclaims;
      assert.ok(
        forced >= 0 && forced <= Math.max(2, 0.01 * kotel.reclaims),
        `memory.events max ${counts.maxEvents! - before.maxEvents!}, kotel ${kotel.reclaims} reclaims`,
      );
      assert.equal(kotel.reclaimPages, counts.pgstealDirect! - before.pgstealDirect!, 'memory.stat pgsteal_direct');
    }
  });

  test(`${LIMIT / MiB} MiB limit, no swap, ${(4 * LIMIT) / MiB} MiB of anonymous memory touched: one OOM kill in the cgroup, as it counts it`, async () => {
    const { cg, limit } = limited('oom');
    const before = limit.counts();
    const [cmd, args] = limit.command(buildWorkload('fault-workload'), ['user', String((4 * LIMIT) / 4096)]);
    const r = await run(cmd, args, cg);
    assert.equal(r.signal, 'SIGKILL', `the workload should have been OOM-killed: exit ${r.code}, ${r.err}`);
    const killed = limit.counts().oomKills - before.oomKills;
    assert.equal(killed, 1, `the cgroup counts ${killed} OOM kills`);
    const kotel = await memoryOf(port, cg.id);
    // the kill is counted at mark_victim, before the victim dies: in the scrape at once
    assert.equal(kotel.oomKills, killed, `kotel: ${JSON.stringify(kotel)}`);
  });
});
