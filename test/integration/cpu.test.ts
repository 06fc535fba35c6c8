// The CPU family end to end: the real agent, scraped over Prometheus, against a spinner on each of two CPUs
// in a cgroup whose cpu.max allows a fifth of a CPU; the cgroup's own cpu.stat (nr_throttled, throttled_usec) is the ground
// truth. fexit programs: kernels with BPF trampolines (the kernel-matrix guests), skipped elsewhere.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findCgroup2Mount } from '../../agent/src/host/cgroups';
import { startScrapedAgent, type ScrapedAgent } from '../helpers/scrapedAgent';
import { buildWorkload, removeWorkloads } from '../helpers/cbuild';
import { cgroup2Controllers, createCgroup, limitCpu, readKeyed, runIn, type TestCgroup } from '../helpers/cgroup';
import { scrape } from '../helpers/scrape';
import { scaled } from '../helpers/timing';

const QUOTA_US = 20_000;
const PERIOD_US = 100_000;
const SPIN_S = 2;

function cpuStat(cg: TestCgroup): { periods: number; throttled: number; throttledUs: number } {
  const m = readKeyed(path.join(findCgroup2Mount()!, cg.path, 'cpu.stat'));
  return { periods: m.get('nr_periods')!, throttled: m.get('nr_throttled')!, throttledUs: m.get('throttled_usec')! };
}

describe('cpu family: CFS bandwidth throttling against cpu.stat (root, cgroup2 cpu controller, fexit)', () => {
  let kotel: ScrapedAgent;
  let port: number;
  let unavailable: string | false = false;
  let cg: TestCgroup | undefined;

  before(async () => {
    buildWorkload('sched-workload');
    kotel = await startScrapedAgent('cpu');
    port = kotel.port;
    const probe = (await scrape(port)).find((s) => s.name === 'kotel_probe_attached' && s.labels.kotel_probe === 'throttle_cfs_rq');
    if (!probe || probe.value !== 1)
      unavailable = `throttle_cfs_rq not attached (${probe?.labels.error_type ?? 'no probe'}): no fexit here`;
    if (!unavailable && !cgroup2Controllers().includes('cpu')) unavailable = 'the cgroup2 hierarchy has no cpu controller here';
  });

  after(async () => {
    await kotel?.stop();
    cg?.remove();
    removeWorkloads();
  });

  test(`a spinner on each of 2 CPUs under cpu.max "${QUOTA_US} ${PERIOD_US}" for ${SPIN_S} s: throttled periods and time as the cgroup's cpu.stat counts them`, async (t) => {
    if (unavailable) return t.skip(unavailable);
    cg = createCgroup('cpu-quota');
    limitCpu(cg, `${QUOTA_US} ${PERIOD_US}`);
    const before = cpuStat(cg);
    // one spinner on each CPU: two run queues of the cgroup throttled in each period, counted once
    await Promise.all(['0', '1'].map((cpu) => runIn(cg!, buildWorkload('sched-workload'), ['spin', '1', String(SPIN_S), cpu])));
    // the last throttle ends at the next period's refill
    await new Promise((r) => setTimeout(r, scaled(3 * (PERIOD_US / 1000))));
    const stat = cpuStat(cg);
    const kernel = { periods: stat.throttled - before.throttled, us: stat.throttledUs - before.throttledUs };
    const kotel = { periods: 0, throttles: 0, seconds: 0 };
    for (const s of await scrape(port)) {
      if (s.labels.cgroup_id !== String(cg.id)) continue;
      if (s.name === 'cpu_throttled_periods_total') kotel.periods = s.value;
      if (s.name === 'cpu_throttle_duration_seconds_count') kotel.throttles = s.value;
      if (s.name === 'cpu_throttle_duration_seconds_sum') kotel.seconds = s.value;
    }
    console.log(`# kotel ${JSON.stringify(kotel)}; cpu.stat ${JSON.stringify(before)} -> ${JSON.stringify(stat)}`);
    assert.ok(kernel.periods >= 5, `cpu.stat counts ${kernel.periods} throttled periods in ${stat.periods - before.periods}`);
    // a period counted at its first throttle (kotel) or at the timer that ends it (the kernel): one apart at
    // the window's edge
    assert.ok(Math.abs(kotel.periods - kernel.periods) <= 1, `throttled periods: kotel ${kotel.periods}, cpu.stat ${kernel.periods}`);
    // the same clock differences the kernel adds up, each truncated to us in cpu.stat's sum only
    assert.ok(
      Math.abs(kotel.seconds * 1e6 - kernel.us) <= 2,
      `time throttled: kotel ${kotel.seconds * 1e6} us over ${kotel.throttles} throttles, cpu.stat ${kernel.us} us`,
    );
  });
});
