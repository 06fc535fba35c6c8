// The memory family end to end: the real agent, scraped over Prometheus, against a workload that touches a
// known number of fresh pages from user code or from the kernel, or reads a disk's pages dropped from the
// page cache, and counts its own faults (getrusage).
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { startScrapedAgent, type ScrapedAgent } from '../helpers/scrapedAgent';
import { buildWorkload, removeWorkloads } from '../helpers/cbuild';
import { createCgroup, runIn, type TestCgroup } from '../helpers/cgroup';
import { scrape } from '../helpers/scrape';
import { tool } from '../helpers/tools';

const PAGES = 20_000;
/** faults a process may take after its last getrusage: printing the result, exit */
const TAIL = 64;

/** memory_page_faults_total of one cgroup: `${mode}|${access}` → count */
async function faultsOf(port: number, cgroupId: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const s of await scrape(port))
    if (s.name === 'memory_page_faults_total' && s.labels.cgroup_id === String(cgroupId))
      out.set(`${s.labels.memory_fault_mode}|${s.labels.memory_fault_access}`, s.value);
  return out;
}

/** memory_paging_faults_total of one cgroup: minor and major */
async function typesOf(port: number, cgroupId: number): Promise<{ minor: number; major: number }> {
  const out = { minor: 0, major: 0 };
  for (const s of await scrape(port))
    if (s.name === 'memory_paging_faults_total' && s.labels.cgroup_id === String(cgroupId))
      out[s.labels.system_paging_fault_type as 'minor' | 'major'] = s.value;
  return out;
}

interface Counted {
  before: number;
  after: number;
  minorBefore: number;
  minorAfter: number;
  majorBefore: number;
  majorAfter: number;
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

describe('memory family end to end (root, real kernel, Prometheus scrape)', () => {
  let kotel: ScrapedAgent;
  let port: number;
  const cgroups: TestCgroup[] = [];

  before(async () => {
    buildWorkload('fault-workload');
    kotel = await startScrapedAgent('memory');
    port = kotel.port;
  });

  after(async () => {
    await kotel?.stop();
    for (const cg of cgroups) cg.remove();
    removeWorkloads();
  });

  for (const mode of ['user', 'kernel'] as const) {
    test(`${PAGES} fresh pages touched ${mode === 'user' ? 'by user code' : 'by the kernel (read into them)'}: ${mode} write faults in the workload's cgroup, as many as it counts itself`, async () => {
      const cg = createCgroup(`memory-${mode}`);
      cgroups.push(cg);
      const counted = JSON.parse(await runIn(cg, buildWorkload('fault-workload'), [mode, String(PAGES)])) as Counted;
      const touched = counted.after - counted.before;
      assert.ok(touched >= PAGES, `the workload counts ${touched} faults for ${PAGES} pages`);
      const faults = await faultsOf(port, cg.id);
      const writes = faults.get(`${mode}|write`) ?? 0;
      // the pages, and what the process faulted on its way to main (exec, the loader) since it joined the
      // cgroup: at most its count before, and what printing the result and exiting take
      assert.ok(
        writes >= PAGES && writes <= PAGES + counted.before + TAIL,
        `${mode} write faults ${writes}: ${JSON.stringify([...faults])}`,
      );
      const total = sum(faults);
      assert.ok(
        total >= touched && total <= counted.after + TAIL,
        `every fault of the cgroup ${total}, the workload's own count ${touched} touching, ${counted.after} in all`,
      );
      console.log(
        `# ${mode}: ${PAGES} pages; kotel ${writes} ${mode} write faults, ${total} in all; the workload counts ${touched}, ${counted.after} in all`,
      );
    });
  }
});

describe('memory family: faults by type at handle_mm_fault (families.memory.faultTypes; fexit: kernels with BPF trampolines)', () => {
  let kotel: ScrapedAgent;
  let port: number;
  let unavailable: string | false = false;
  const cgroups: TestCgroup[] = [];
  /** a block device whose pages, dropped from the page cache, are read back at a fault: major faults (a
   * null_blk disk: any kernel with the module; a file would do on a disk, not on tmpfs or a 9p root) */
  let device: string | undefined;
  const DEVICE_PAGES = 2000;

  before(async () => {
    buildWorkload('fault-workload');
    try {
      execFileSync(tool('modprobe'), ['null_blk', 'nr_devices=1'], { stdio: 'pipe' });
      device = '/dev/nullb0';
    } catch {
      // no modules here: the major-fault case is skipped
    }
    kotel = await startScrapedAgent('memory', { KOTEL_FAMILIES_MEMORY_FAULT_TYPES: 'true' });
    port = kotel.port;
    const probe = (await scrape(port)).find((s) => s.name === 'kotel_probe_attached' && s.labels.kotel_probe === 'handle_mm_fault');
    if (!probe || probe.value !== 1)
      unavailable = `handle_mm_fault not attached (${probe?.labels.error_type ?? 'no probe'}): no fexit here`;
  });

  after(async () => {
    await kotel?.stop();
    for (const cg of cgroups) cg.remove();
    if (device) execFileSync(tool('modprobe'), ['-r', 'null_blk'], { stdio: 'pipe' });
    removeWorkloads();
  });

  for (const mode of ['user', 'file'] as const) {
    test(`${mode === 'user' ? `${PAGES} fresh anonymous pages: minor faults` : `${DEVICE_PAGES} pages of a disk dropped from the page cache: major faults`}, as many as the workload's getrusage counts`, async (t) => {
      if (unavailable) return t.skip(unavailable);
      if (mode === 'file' && !device) return t.skip('no null_blk module');
      const cg = createCgroup(`memory-types-${mode}`);
      cgroups.push(cg);
      const args = mode === 'user' ? ['user', String(PAGES)] : ['file', String(DEVICE_PAGES), device!];
      const counted = JSON.parse(await runIn(cg, buildWorkload('fault-workload'), args)) as Counted;
      const types = await typesOf(port, cg.id);
      // the kernel's own accounting: what the process counted since it joined the cgroup, and its exit
      for (const type of ['minor', 'major'] as const) {
        const [b, a] = type === 'minor' ? [counted.minorBefore, counted.minorAfter] : [counted.majorBefore, counted.majorAfter];
        assert.ok(
          types[type] >= a - b && types[type] <= a + TAIL,
          `${type}: kotel ${types[type]}, the workload ${a - b} touching, ${a} in all`,
        );
      }
      const expected = mode === 'user' ? counted.minorAfter - counted.minorBefore : counted.majorAfter - counted.majorBefore;
      assert.ok(
        expected >= (mode === 'user' ? PAGES : DEVICE_PAGES / 2),
        `the workload's own count ${expected}: ${JSON.stringify(counted)}`,
      );
      console.log(`# ${mode}: kotel ${types.minor} minor, ${types.major} major; the workload ${JSON.stringify(counted)}`);
    });
  }
});
