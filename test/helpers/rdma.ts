// The RDMA test fixtures (test/fixtures/rdma): a fake verbs provider loaded by the real libibverbs through a
// fake sysfs tree, the verbs workload, and the pyverbs client. Built once per run with the host compiler.
import { execFileSync, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { TestCgroup } from './cgroup';
import { scaled } from './timing';

export const RDMA_FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'rdma');
export const RDMA_BUILD_DIR = '/tmp/kotel-rdma-fixtures';
export const RDMA_WORKLOAD = path.join(RDMA_BUILD_DIR, 'rdma-workload');
export const PYVERBS_SCRIPT = path.join(RDMA_FIXTURES, 'pyverbs_qp.py');
export const FAKE_SYSFS = path.join(RDMA_BUILD_DIR, 'sysfs');
export const FAKE_DEVICE = 'kotelfake0';

/** builds the fixtures (idempotent); throws the build script's one-line reason. fakeDevice: false where a
 * real RDMA device owns /dev/infiniband/uverbs0 (Soft-RoCE) */
export function buildRdmaFixtures(fakeDevice = true): void {
  try {
    execFileSync('bash', [path.join(RDMA_FIXTURES, 'build.sh'), RDMA_BUILD_DIR, ...(fakeDevice ? [] : ['--no-device'])], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as { stderr?: Buffer };
    throw new Error(`building the RDMA fixtures failed: ${e.stderr?.toString().trim() ?? String(err)}`, { cause: err });
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

/** a verbs program run in a cgroup; with --hold it keeps its objects until finish() */
export class VerbsWorkload {
  readonly child: ChildProcess;
  private out = '';
  private err = '';
  readonly exited: Promise<number | null>;

  /** env: fakeVerbsEnv() for the fake HCA, process.env for the host's devices */
  constructor(cg: TestCgroup, cmd: string, args: string[], env: NodeJS.ProcessEnv) {
    this.child = cg.spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d) => (this.out += d));
    this.child.stderr!.on('data', (d) => (this.err += d));
    this.child.stdin!.on('error', () => {}); // a program that does not read stdin may be gone (EPIPE)
    this.exited = new Promise((resolve) => this.child.on('exit', resolve));
  }

  get pid(): number {
    return this.child.pid!;
  }

  output(): string {
    return this.out;
  }

  async ready(word = 'ready'): Promise<void> {
    for (const end = Date.now() + scaled(10_000); !this.out.includes(word) && Date.now() < end;) {
      if (this.child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    if (!this.out.includes(word)) throw new Error(`workload not ${word}: ${this.err}`);
  }

  /** --wait: lets it start its verbs */
  start(): void {
    this.child.stdin!.write('start\n');
  }

  /** ends its stdin (a --hold workload tears down) and resolves with its stdout once it exited 0 */
  async finish(): Promise<string> {
    this.child.stdin!.end('go\n');
    const code = await this.exited;
    if (code !== 0) throw new Error(`workload exited ${code}: ${this.err}`);
    return this.out;
  }
}
