// Every probe family kotel ships, by folder: agent/src/probes/<folder>/, families.<folder> in the config, a name
// for --families. Adding a family is its folder and one line here; the schema, the CLI, the bench and the README
// checks take their lists from this one.
import { folder as blockio } from './blockio';
import { folder as cpu } from './cpu';
import { folder as interrupts } from './interrupts';
import { folder as locks } from './locks';
import { folder as memory } from './memory';
import { folder as rdma } from './rdma';
import { folder as sched } from './sched';
import { folder as tcp } from './tcp';
import { folder as unix } from './unix';
import type { Family, FamilyFolder } from './types';

const folders = { tcp, sched, rdma, locks, interrupts, blockio, memory, cpu, unix } satisfies Record<string, FamilyFolder>;

export type FamilyName = keyof typeof folders;

/** the families as configured, in load order */
export const familyNames = Object.keys(folders) as FamilyName[];

/** the families on by default (families.<folder>.enabled), in load order */
export const defaultFamilyNames = familyNames.filter((n) => (folders[n].config as { enabled: { default: boolean } }).enabled.default);

/** each folder's keys under families.<folder> in the config schema */
export const familyConfigs = Object.fromEntries(familyNames.map((n) => [n, folders[n].config])) as {
  [N in FamilyName]: (typeof folders)[N]['config'];
};

/** one per BPF object (bpf/<name>.bpf.c), in load order */
export const families: Family[] = familyNames.flatMap((n) => folders[n].families);

/** the family that made a span (kotel.events.dropped of spans the export queue had no room for) */
export function spanFamily(name: string, attributes: Record<string, unknown>): string {
  return families.find((f) => f.makesSpan?.(name, attributes))?.name ?? 'otlp';
}

/** the configured family each BPF family belongs to (rdma_kernel: rdma) */
export function folderOf(family: string): FamilyName | undefined {
  return familyNames.find((n) => folders[n].families.some((f) => f.name === family));
}

/** each configured family's metric-name prefixes: the first segments of its kernel metrics' names */
const prefixes = new Map<string, FamilyName>(
  familyNames.flatMap((n) => folders[n].families.flatMap((f) => f.kernelMetrics.map((m) => [m.metric.name.split('.')[0], n] as const))),
);

/** the configured family a metric belongs to, by its name's first segment (kotel's own: undefined) */
export function familyOfMetric(name: string): FamilyName | undefined {
  return prefixes.get(name.split('.')[0]);
}
