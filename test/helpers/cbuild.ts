// Builds a C workload from test/fixtures/workloads/ with the host compiler (tests and bench/ share them).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const WORKLOAD_DIR = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'workloads');

const BUILD_DIR = path.join(os.tmpdir(), `kotel-workloads-${process.pid}`);

/** compiles test/fixtures/workloads/<name>.c once per process; returns the binary's path */
export function buildWorkload(name: string): string {
  const out = path.join(BUILD_DIR, name);
  if (!fs.existsSync(out)) {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    execFileSync('cc', ['-O2', '-Wall', '-pthread', '-o', out, path.join(WORKLOAD_DIR, `${name}.c`)], { stdio: 'inherit' });
  }
  return out;
}

/** removes what buildWorkload built */
export function removeWorkloads(): void {
  fs.rmSync(BUILD_DIR, { recursive: true, force: true });
}
