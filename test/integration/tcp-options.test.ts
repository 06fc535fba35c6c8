// Two TCP options end to end (root, real kernel, real OTLP). families.tcp.spanSampling 0: no tcp.connection
// span reaches the receiver and kotel.spans.sampled_out{kotel.family=tcp} counts at least both ends of every
// connection the workload made (other connections on the host count too). families.tcp.requestPorts naming
// another port: the workload's request and response turns go to the series without server.port.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { startOtlpReceiver } from '../helpers/otlpReceiver';
import { waitForPoint, type Receiver } from '../helpers/points';
import { createCgroup, runIn, type TestCgroup } from '../helpers/cgroup';
import { freePort, startAgent, writeConfig, type AgentProcess } from '../helpers/agentProcess';

const WORKLOAD = path.resolve(__dirname, '..', 'fixtures', 'workloads', 'tcp-workload.js');

let receiver: Receiver;
let agent: AgentProcess;
const cgroups: Record<string, TestCgroup> = {};
let server: { kill(): void } | undefined;
let port: number;
const n = 20;

before(async () => {
  for (const name of ['opt-client', 'opt-server']) cgroups[name] = createCgroup(name);
  receiver = await startOtlpReceiver();
  const config = writeConfig(`
families:
  tcp:
    connectionSpans: true
    spanSampling: 0
    requestPorts: [1, 2]
otlp:
  endpoint: "http://127.0.0.1:${receiver.grpcPort}"
metrics:
  interval: 1000
prometheus:
  enabled: false
console:
  enabled: false
`);
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
  port = await freePort();
  const child = cgroups['opt-server'].spawn(process.execPath, [WORKLOAD, 'server', String(port), '127.0.0.1']);
  server = child;
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes('listening') && resolve());
    child.on('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  // each connection sends 10 bytes and reads them back: one request (client) and one response (server)
  await runIn(cgroups['opt-client'], process.execPath, [WORKLOAD, 'connects', '127.0.0.1', String(port), String(n), '10']);
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

test("requestPorts 1,2: turns on the workload's port count in the series without server.port", async () => {
  for (const [metric, cgroup] of [
    ['tcp.request.duration', 'opt-client'],
    ['tcp.response.duration', 'opt-server'],
  ] as const) {
    const p = await waitForPoint(
      receiver,
      metric,
      { 'cgroup.path': cgroups[cgroup].path, 'server.port': undefined },
      (x) => x.count === n,
      `${n} turns of ${metric} without server.port`,
    );
    assert.equal(p.attributes['server.port'], undefined);
    const apart = receiver
      .metrics()
      .filter(
        (x) => x.name === metric && x.attributes['cgroup.path'] === cgroups[cgroup].path && x.attributes['server.port'] !== undefined,
      );
    assert.deepEqual(apart, [], `no ${metric} series with server.port ${port}`);
  }
});
