// Compiles the bench workloads (cc) and the bench BPF objects (clang, the flags of bpf/Makefile) into
// bench/.build/.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { run } from './proc';
import { BENCH_SRC, BUILD, ROOT } from './paths';

export const WORKLOADS = ['pingpong', 'tcp_rr', 'uds_rr', 'mutex', 'mmap', 'direct_io', 'spin', 'trigger', 'idle_procs'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

/** same flags as bpf/Makefile */
const BPF_CFLAGS = ['-g', '-O2', '-target', 'bpf', '-D__TARGET_ARCH_x86', '-Wall', '-Werror'];
const BPF_INCLUDES = ['-I' + path.join(ROOT, 'bpf'), '-I' + path.join(ROOT, 'bpf', 'include', 'x86_64'), '-I/usr/include/x86_64-linux-gnu'];

export function workloadPath(name: WorkloadName): string {
  return path.join(BUILD, name);
}

export async function buildWorkloads(): Promise<void> {
  fs.mkdirSync(BUILD, { recursive: true });
  await Promise.all(
    WORKLOADS.map((w) =>
      run('cc', ['-O2', '-Wall', '-Werror', '-pthread', '-o', workloadPath(w), path.join(BENCH_SRC, 'workloads', `${w}.c`)]),
    ),
  );
}

/** compiles bench/bpf/<name>.bpf.c; extraInclude: a directory searched first (generated headers) */
export async function buildBpf(name: string, extraInclude?: string): Promise<string> {
  fs.mkdirSync(BUILD, { recursive: true });
  const out = path.join(BUILD, `${name}.bpf.o`);
  const inc = extraInclude ? ['-I' + extraInclude] : [];
  await run('clang', [
    ...BPF_CFLAGS,
    ...inc,
    '-I' + path.join(BENCH_SRC, 'bpf'),
    ...BPF_INCLUDES,
    '-c',
    path.join(BENCH_SRC, 'bpf', `${name}.bpf.c`),
    '-o',
    out,
  ]);
  return out;
}
