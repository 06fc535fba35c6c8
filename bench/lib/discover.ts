// What exists in this tree: which families are registered in the agent (agent/src/probes/registry.ts), in
// the config schema and have a built object (bpf/.output/<family>.bpf.o).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FAMILIES } from '../../agent/src/config';
import { familyNames, families as registered } from '../../agent/src/probes/registry';
import { BPF_OUTPUT } from './paths';

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

/** families registered and built, in registry order */
export function availableFamilies(): string[] {
  return familyNames.filter((n) => familyStatus(n).available);
}
