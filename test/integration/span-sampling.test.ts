// families.<family>.spanSampling end to end (root, real kernel, real OTLP): with tcp.connection spans kept at
// 0, none reaches the receiver and kotel.spans.sampled_out{kotel.family=tcp} counts at least both ends of
// every connection the workload made (other connections on the host count too).
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { startOtlpReceiver } from '../helpers/otlpReceiver';
import { waitForPoint, type Receiver } from '../helpers/points';
import { createCgroup, runIn, type TestCgroup } from '../helpers/cgroup';
import { freePort, startAgent, testAgentConfig, type AgentProcess } from '../helpers/agentProcess';

const WORKLOAD = path.resolve(__dirname, '..', 'fixtures', 'workloads', 'tcp-workload.js');

let receiver: Receiver;
let agent: AgentProcess;
const cgroups: Record<string, TestCgroup> = {};
let server: { kill(): void } | undefined;

before(async () => {
  for (const name of ['sampling-client', 'sampling-server']) cgroups[name] = createCgroup(name);
  receiver = await startOtlpReceiver();
  const config = testAgentConfig({ grpcPort: receiver.grpcPort, families: 'tcp:\n  connectionSpans: true\n  spanSampling: 0' });
  agent = startAgent(['run', '--config', config, '--families', 'tcp']);
  await agent.waitFor(/kotel running/, 30_000);
});

after(async () => {
  server?.kill();
  await agent?.stop();
  await receiver?.close();
  for (const cg of Object.values(cgroups)) cg.remove();
});

test('spanSampling 0: no tcp.connection span exported, every one counted as sampled out', async () => {
  const port = await freePort();
  const child = cgroups['sampling-server'].spawn(process.execPath, [WORKLOAD, 'server', String(port), '127.0.0.1']);
  server = child;
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes('listening') && resolve());
    child.on('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  const n = 20;
  await runIn(cgroups['sampling-client'], process.execPath, [WORKLOAD, 'connects', '127.0.0.1', String(port), String(n), '10']);
  const p = await waitForPoint(
    receiver,
    'kotel.spans.sampled_out',
    { 'kotel.family': 'tcp' },
    (x) => (x.value ?? 0) >= 2 * n,
    `${2 * n} sampled out`,
  );
  assert.equal(p.unit, '{span}');
  // the spans of these connections would have been exported by now (one batch per 5 s at most)
  await new Promise((r) => setTimeout(r, 6000));
  assert.deepEqual(
    receiver.spans().filter((s) => s.name === 'tcp.connection'),
    [],
    'no tcp.connection span exported',
  );
});
