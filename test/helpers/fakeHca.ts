// What the RDMA suites on the fake HCA (test/helpers/rdma.ts) share: its workload, an agent watching it and
// waits on the points they assert.
import { strict as assert } from 'node:assert';
import { startAgent, writeConfig, type AgentProcess } from './agentProcess';
import type { TestCgroup } from './cgroup';
import { startOtlpReceiver } from './otlpReceiver';
import { latest, type Match, type Receiver } from './points';
import { FAKE_SYSFS, fakeVerbsEnv, VerbsWorkload } from './rdma';

export const RESOURCES = ['context', 'pd', 'cq', 'mr', 'qp'] as const;
/** where Debian's libibverbs1 installs the library */
export const SYSTEM_LIB_DIR = '/usr/lib/x86_64-linux-gnu';

/** a workload on the fake HCA, in a cgroup */
export class Workload extends VerbsWorkload {
  constructor(cg: TestCgroup, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
    super(cg, cmd, args, { ...fakeVerbsEnv(), ...env });
  }
}

export function waitValue(receiver: Receiver, name: string, match: Match, want: number, what: string) {
  return receiver
    .waitFor(() => latest(receiver, name, match)?.value === want, 20_000, `${what}: ${name} ${JSON.stringify(match)} = ${want}`)
    .catch((err) => {
      throw new Error(`${(err as Error).message}; last value ${latest(receiver, name, match)?.value}`);
    });
}

/** after two more exports, the series is absent (objects too short-lived to be seen at a collection) or 0 */
export async function settled(receiver: Receiver, name: string, match: Match, what: string) {
  const after = receiver.requests().metrics + 2;
  await receiver.waitFor(() => receiver.requests().metrics >= after, 20_000, `${what}: two more exports`);
  const v = latest(receiver, name, match)?.value;
  assert.ok(v === undefined || v === 0, `${what}: ${name} ${JSON.stringify(match)} is ${v}, expected 0 or no point`);
}

/** the agent with the rdma family on the fake HCA (libraries scanned every 500 ms), exporting over OTLP gRPC */
export async function startFakeHcaAgent(promPort: number): Promise<{ receiver: Receiver; agent: AgentProcess }> {
  const receiver = await startOtlpReceiver();
  const config = writeConfig(`
families:
  tcp:
    enabled: false
  rdma:
    enabled: true
    sysfsRoot: ${FAKE_SYSFS}
    libraryScanInterval: 500
otlp:
  endpoint: "http://127.0.0.1:${receiver.grpcPort}"
  protocol: grpc
metrics:
  interval: 500
prometheus:
  port: ${promPort}
console:
  interval: 1000
`);
  const agent = startAgent(['run', '--config', config]);
  await agent.waitFor(/kotel running/, 60_000);
  return { receiver, agent };
}
