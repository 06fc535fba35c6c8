// Builds a C workload from test/fixtures/workloads/ with the host compiler (tests and bench/ share them).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tool } from './tools';

export const WORKLOAD_DIR = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'workloads');

const BUILD_DIR = path.join(os.tmpdir(), `kotel-workloads-${process.pid}`);

/** compiles test/fixtures/workloads/<name>.c once per process; returns the binary's path */
export function buildWorkload(name: string): string {
  const out = path.join(BUILD_DIR, name);
  if (!fs.existsSync(out)) {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    execFileSync(tool('cc'), ['-O2', '-Wall', '-pthread', '-o', out, path.join(WORKLOAD_DIR, `${name}.c`), '-lm'], { stdio: 'inherit' });
  }
  return out;
}

/** removes what buildWorkload built */
export function removeWorkloads(): void {
  fs.rmSync(BUILD_DIR, { recursive: true, force: true });
}

/** compiles a C program with bpf/ on the include path (the ABI headers), runs it, returns its stdout:
 * records written by the host compiler, the independent side of a BPF record layout */
export function runC(src: string): Buffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-c-'));
  try {
    fs.writeFileSync(path.join(dir, 'prog.c'), src);
    execFileSync(tool('cc'), [
      '-I',
      path.resolve(WORKLOAD_DIR, '..', '..', '..', 'bpf'),
      '-o',
      path.join(dir, 'prog'),
      path.join(dir, 'prog.c'),
    ]);
    return execFileSync(path.join(dir, 'prog'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
