// The RDMA test fixtures (test/fixtures/rdma): a fake verbs provider loaded by the real libibverbs through a
// fake sysfs tree, the verbs workload, and the pyverbs client. Built once per run with the host compiler.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

export const RDMA_FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'rdma');
export const RDMA_BUILD_DIR = '/tmp/kotel-rdma-fixtures';
export const RDMA_WORKLOAD = path.join(RDMA_BUILD_DIR, 'rdma-workload');
export const PYVERBS_SCRIPT = path.join(RDMA_FIXTURES, 'pyverbs_qp.py');
export const FAKE_SYSFS = path.join(RDMA_BUILD_DIR, 'sysfs');
export const FAKE_DEVICE = 'kotelfake0';

/** builds the fixtures (idempotent); throws the build script's one-line reason */
export function buildRdmaFixtures(): void {
  try {
    execFileSync('bash', [path.join(RDMA_FIXTURES, 'build.sh'), RDMA_BUILD_DIR], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer };
    throw new Error(`building the RDMA fixtures failed: ${e.stderr?.toString().trim() ?? String(err)}`);
  }
}

/** environment that makes any libibverbs program see the fake HCA */
export function fakeVerbsEnv(): NodeJS.ProcessEnv {
  return { ...process.env, SYSFS_PATH: FAKE_SYSFS, RDMAV_DRIVERS: path.join(RDMA_BUILD_DIR, 'libkotelfake') };
}

/** the workload's own account (one JSON line on stdout) */
export interface WorkloadTally {
  pid: number;
  tid: number;
  device: string;
  calls: Record<string, number>;
  failures: Record<string, Record<string, number>>;
  sgid: string;
  dgid: string;
  qps: Array<{ qpn: number; dest_qpn: number }>;
  churn_ns_per_qp: number;
}

export function parseTally(stdout: string): WorkloadTally {
  const line = stdout.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`rdma-workload printed no tally: ${stdout}`);
  return JSON.parse(line) as WorkloadTally;
}
