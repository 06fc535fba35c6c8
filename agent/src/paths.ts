import * as path from 'node:path';

/** the package root: this file runs from dist/agent/src/ */
export const packageRoot = path.resolve(__dirname, '..', '..', '..');

/** where `make -C bpf` puts the BPF objects */
export const defaultBpfObjectDir = path.join(packageRoot, 'bpf', '.output');
