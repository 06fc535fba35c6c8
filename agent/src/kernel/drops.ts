// Events lost, by reason: in the kernel (each family's <family>_drops per-CPU array) and in user space
// (undecodable records, spans the exporter could not deliver); exported as kotel.events.dropped.
import type { BpfObject } from '../native';
import { readU64 } from './mapValues';

/** enum kotel_drop_reason (bpf/kotel.h), by index */
export const KERNEL_DROP_REASONS = ['ringbuf_full', 'map_full', 'task_storage', 'nested', 'no_memory', 'invalid_value'];
/** reasons reported for every family also while 0; the others once they happen */
const ALWAYS_REPORTED = 2;

/** the kernel's drop counters of one object's drops map, summed over CPUs */
export function kernelDrops(object: BpfObject, dropsMap: string): { reason: string; n: number }[] {
  const info = object.mapInfo(dropsMap);
  const batch = object.readMapSummed(dropsMap);
  const drops: { reason: string; n: number }[] = [];
  for (let i = 0; i < batch.count; i++) {
    const index = batch.keys.readUInt32LE(i * info.keySize);
    const reason = KERNEL_DROP_REASONS[index];
    if (!reason) continue;
    const n = readU64(batch.values, i * batch.valueStride);
    if (n === 0 && index >= ALWAYS_REPORTED) continue; // a reason most families never have
    drops.push({ reason, n });
  }
  return drops;
}

/** events user space lost, by family and reason */
export class UserDrops {
  private readonly counts = new Map<string, { family: string; reason: string; n: number }>();

  add(family: string, reason: string, n = 1): void {
    const key = `${family}|${reason}`;
    const entry = this.counts.get(key);
    if (entry) entry.n += n;
    else this.counts.set(key, { family, reason, n });
  }

  entries(): Iterable<{ family: string; reason: string; n: number }> {
    return this.counts.values();
  }
}
