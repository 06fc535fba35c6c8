// Every probe family kotel ships, by folder (agent/src/probes/<family>/, families.<family> in the config, a
// name for --families) with the BPF objects it loads. Adding a family is a line here and its config fragment's
// line in config/schema.ts: the compiler rejects a family missing from either.
import { locksFamily } from './locks';
import { rdmaFamily } from './rdma';
import { rdmaCmFamily } from './rdma/cm';
import { rdmaKernelFamily } from './rdma/kernel';
import { schedFamily } from './sched';
import { tcpFamily } from './tcp';
import type { ConfiguredFamily } from '../config';
import type { Family } from './types';

const byFolder = {
  tcp: [tcpFamily],
  sched: [schedFamily],
  rdma: [rdmaFamily, rdmaKernelFamily, rdmaCmFamily],
  locks: [locksFamily],
} satisfies Record<ConfiguredFamily, Family[]>;

export type FamilyName = keyof typeof byFolder;

/** the families as configured, in load order */
export const familyNames = Object.keys(byFolder) as FamilyName[];

/** one per BPF object (bpf/<name>.bpf.c), in load order */
export const families: Family[] = Object.values(byFolder).flat();

/** the family that made a span (kotel.events.dropped of spans the export queue had no room for) */
export function spanFamily(name: string, attributes: Record<string, unknown>): string {
  return families.find((f) => f.makesSpan?.(name, attributes))?.name ?? 'otlp';
}
