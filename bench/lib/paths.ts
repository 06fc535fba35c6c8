import * as path from 'node:path';

/** the repo root: this file runs from dist/bench/lib/ */
export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const BENCH_SRC = path.join(ROOT, 'bench');
/** compiled workloads and bench BPF objects (git-ignored) */
export const BUILD = path.join(BENCH_SRC, '.build');
export const BPF_OUTPUT = path.join(ROOT, 'bpf', '.output');
export const CLI = path.join(ROOT, 'dist', 'agent', 'src', 'cli.js');
export const RESULTS = path.join(BENCH_SRC, 'results');
