// The memory maps' kinds (bpf/memory.h) to attributes, one object per kind: mem_faults' mode | access << 1,
// mem_fault_types' fault type, the reclaim maps' enum mem_reclaim_kind, mem_compaction_hist's enum
// mem_compaction_kind.
import type { Attributes } from '@opentelemetry/api';
import { MEMORY_ATTR } from './semconv';

const MODES = ['user', 'kernel'];
const ACCESSES = ['read', 'write', 'exec'];

const byKind = new Map<number, Attributes>();

export function faultAttributes(kind: number): Attributes {
  let a = byKind.get(kind);
  if (!a) {
    const access = kind >>> 1;
    a = { [MEMORY_ATTR.faultMode]: MODES[kind & 1], [MEMORY_ATTR.faultAccess]: ACCESSES[access] ?? `access_${access}` };
    byKind.set(kind, a);
  }
  return a;
}

const TYPES = [{ [MEMORY_ATTR.faultType]: 'minor' }, { [MEMORY_ATTR.faultType]: 'major' }];

export function faultTypeAttributes(kind: number): Attributes {
  return TYPES[kind] ?? { [MEMORY_ATTR.faultType]: `type_${kind}` };
}

const RECLAIM_KINDS = [{ [MEMORY_ATTR.reclaimKind]: 'direct' }, { [MEMORY_ATTR.reclaimKind]: 'memcg' }];

export function reclaimAttributes(kind: number): Attributes {
  return RECLAIM_KINDS[kind] ?? { [MEMORY_ATTR.reclaimKind]: `kind_${kind}` };
}

const COMPACTION_KINDS = ['direct', 'background', 'requested'].map((k) => ({ [MEMORY_ATTR.compactionKind]: k }));

export function compactionAttributes(kind: number): Attributes {
  return COMPACTION_KINDS[kind] ?? { [MEMORY_ATTR.compactionKind]: `kind_${kind}` };
}
