// What exists in this tree: the families the benchmark knows about, which of them are registered in the
// agent (agent/src/probes/registry.ts) and have a built object (bpf/.output/<family>.bpf.o).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FAMILIES } from '../../agent/src/config';
import { families as registered } from '../../agent/src/probes/registry';
import { BPF_OUTPUT } from './paths';

/** every family the benchmarks cover */
export const KNOWN_FAMILIES = ['tcp', 'sched', 'locks', 'rdma'] as const;

export interface FamilyStatus {
  name: string;
  available: boolean;
  /** why not, when not available */
  missing?: string;
  object: string;
}

export function familyStatus(name: string): FamilyStatus {
  const object = path.join(BPF_OUTPUT, `${name}.bpf.o`);
  let missing: string | undefined;
  if (!registered.some((f) => f.name === name)) missing = `${name} not built yet (not in agent/src/probes/registry.ts)`;
  else if (!(FAMILIES as readonly string[]).includes(name)) missing = `${name} not built yet (not in the config schema's FAMILIES)`;
  else if (!fs.existsSync(object)) missing = `${name} not built yet (no bpf/.output/${name}.bpf.o)`;
  return { name, available: !missing, missing, object };
}

/** families registered and built, in registry order (including ones the bench does not know by name) */
export function availableFamilies(): string[] {
  return registered.map((f) => f.name).filter((n) => familyStatus(n).available);
}
