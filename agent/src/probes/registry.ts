// Every probe family kotel ships. Adding one is a line here.
import { locksFamily } from './locks';
import { rdmaFamily } from './rdma';
import { rdmaCmFamily } from './rdma/cm';
import { rdmaKernelFamily } from './rdma/kernel';
import { schedFamily } from './sched';
import { tcpFamily } from './tcp';
import type { Family } from './types';

export const families: Family[] = [tcpFamily, schedFamily, rdmaFamily, rdmaKernelFamily, rdmaCmFamily, locksFamily];

/** the family that made a span (kotel.events.dropped of spans the export queue had no room for) */
export function spanFamily(name: string, attributes: Record<string, unknown>): string {
  return families.find((f) => f.makesSpan?.(name, attributes))?.name ?? 'otlp';
}
