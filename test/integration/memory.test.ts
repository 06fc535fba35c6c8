// The memory family end to end: the real agent, scraped over Prometheus, against a workload that touches a
// known number of fresh pages from user code or from the kernel and counts its own faults (getrusage).
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { startOtlpReceiver } from '../helpers/otlpReceiver';
import { startAgent, freePort, testAgentConfig, type AgentProcess } from '../helpers/agentProcess';
import { buildWorkload, removeWorkloads } from '../helpers/cbuild';
import { createCgroup, runIn, type TestCgroup } from '../helpers/cgroup';
import { scrape } from '../helpers/scrape';
import type { Receiver } from '../helpers/points';

const PAGES = 20_000;
/** faults a process may take after its last getrusage: printing the result, exit */
const TAIL = 64;

/** memory_page_faults_total of one cgroup (by id: a cgroup made a moment ago may have no path yet) */
async function faultsOf(port: number, cgroupId: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const s of await scrape(port))
    if (s.name === 'memory_page_faults_total' && s.labels.cgroup_id === String(cgroupId))
      out.set(`${s.labels.memory_fault_mode}|${s.labels.memory_fault_access}`, s.value);
  return out;
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

describe('memory family end to end (root, real kernel, Prometheus scrape)', () => {
  let receiver: Receiver;
  let agent: AgentProcess;
  let port: number;
  const cgroups: TestCgroup[] = [];

  before(async () => {
    buildWorkload('fault-workload');
    receiver = await startOtlpReceiver();
    port = await freePort();
    const config = testAgentConfig({ grpcPort: receiver.grpcPort, promPort: port });
    agent = startAgent(['run', '--config', config, '--families', 'memory']);
    await agent.waitFor(/kotel running/, 30_000);
  });

  after(async () => {
    await agent?.stop();
    await receiver?.close();
    for (const cg of cgroups) cg.remove();
    removeWorkloads();
  });

  for (const mode of ['user', 'kernel'] as const) {
    test(`${PAGES} fresh pages touched ${mode === 'user' ? 'by user code' : 'by the kernel (read into them)'}: ${mode} write faults in the workload's cgroup, as many as it counts itself`, async () => {
      const cg = createCgroup(`memory-${mode}`);
      cgroups.push(cg);
      const counted = JSON.parse(await runIn(cg, buildWorkload('fault-workload'), [mode, String(PAGES)])) as {
        before: number;
        after: number;
      };
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
