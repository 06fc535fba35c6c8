// Stand-ins for kernel histogram maps in unit tests, laid out as bpf/kotel.h has them (struct kotel_cg_key,
// struct kotel_hist: an entry per chunk of slots in use); test/integration checks the real layouts.
import { CHUNK_SLOTS } from '../../agent/src/kernel/exponentialBuckets';
import type { BpfObject, MapBatch, MapInfo, TypeLayout } from '../../agent/src/native';
import { chunkSlots } from '../../agent/src/otel/histogram';
import { nonzeroBatch } from './summedBatch';

const CPUS = 2;
export const KEY: TypeLayout = {
  size: 16,
  fields: { cgroup_id: { offset: 0, size: 8 }, kind: { offset: 8, size: 4 }, chunk: { offset: 12, size: 4 } },
};
const HIST: TypeLayout = {
  size: CHUNK_SLOTS * 8 + 8,
  fields: { sum_ns: { offset: 0, size: 8 }, slots: { offset: 8, size: CHUNK_SLOTS * 8 } },
};
/** per-CPU hist map with a series per cgroup (kind 0; each cgroup the same values), as the kernel keeps it:
 * an entry per chunk of slots any CPU used (bpf/kotel.h), the series' entries interleaved; each CPU holds its
 * own slots, and its sum in its lowest chunk */
export function standInObject(perCpuSlots: Record<number, number>[], perCpuSum: number[], cgroups = [4242]): BpfObject {
  const chunkOf = (slot: number | string) => Math.floor(Number(slot) / CHUNK_SLOTS);
  const chunks = [...new Set(perCpuSlots.flatMap((slots) => Object.keys(slots).map(chunkOf)))].sort((a, b) => b - a);
  const entries = chunks.flatMap((chunk) => cgroups.map((cgroup) => ({ chunk, cgroup })));
  const stride = HIST.size * CPUS;
  const keys = Buffer.alloc(KEY.size * entries.length);
  const values = Buffer.alloc(stride * entries.length);
  entries.forEach(({ chunk, cgroup }, i) => {
    keys.writeBigUInt64LE(BigInt(cgroup), i * KEY.size);
    keys.writeUInt32LE(chunk, i * KEY.size + 12);
    perCpuSlots.forEach((slots, cpu) => {
      const at = i * stride + cpu * HIST.size;
      for (const [slot, n] of Object.entries(slots))
        if (chunkOf(slot) === chunk) values.writeBigUInt64LE(BigInt(n), at + 8 + (Number(slot) % CHUNK_SLOTS) * 8);
      if (chunk === Math.min(...Object.keys(slots).map(chunkOf))) values.writeBigUInt64LE(BigInt(perCpuSum[cpu]), at);
    });
  });
  const info: MapInfo = { name: 'h', type: 'percpu_hash', keySize: KEY.size, valueSize: HIST.size, maxEntries: 16, percpu: true, flags: 1 };
  const batch: MapBatch = { count: entries.length, keys, values, valueStride: stride };
  return {
    path: 'stand-in',
    mapInfo: () => info,
    readMapNonzero: () => nonzeroBatch(info, batch),
    layout: (name: string) => (name === 'kotel_cg_key' ? KEY : HIST),
  } as unknown as BpfObject;
}

/** dense slots and a sum as the producer gets them from readMapNonzero: an entry per chunk in use (sum_ns
 * word 0 of the first, slot s word 1 + s % CHUNK_SLOTS of chunk s / CHUNK_SLOTS) */
export function kernelSlots(slots: Float64Array, sumNs: number) {
  const chunks = new Map<number, number[]>();
  const push = (chunk: number, index: number, v: number) => {
    const words = chunks.get(chunk) ?? chunks.set(chunk, [0]).get(chunk)!;
    words.push(index, v % 2 ** 32, Math.floor(v / 2 ** 32));
    words[0]++;
  };
  if (sumNs) push(0, 0, sumNs);
  slots.forEach((c, s) => c && push(Math.floor(s / CHUNK_SLOTS), 1 + (s % CHUNK_SLOTS), c));
  return chunkSlots(
    [...chunks].map(([chunk, words]) => ({ chunk, words: Uint32Array.from(words) })),
    1,
    0,
  );
}
