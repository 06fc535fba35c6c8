// Reading u64 fields out of batch-read map buffers (native readMap), summing per-CPU copies.
import type { MapBatch, MapInfo } from '../native';

/** little-endian u64 as a number (exact below 2^53, which counters and ns sums stay under) */
export function readU64(buf: Buffer, offset: number): number {
  return buf.readUInt32LE(offset) + buf.readUInt32LE(offset + 4) * 4294967296;
}

/** number of per-CPU copies in each value of a batch, and the bytes between them */
export function perCpuLayout(info: MapInfo, batch: MapBatch): { copies: number; chunk: number } {
  if (!info.percpu) return { copies: 1, chunk: batch.valueStride };
  const chunk = Math.ceil(info.valueSize / 8) * 8;
  return { copies: batch.valueStride / chunk, chunk };
}

/** sum over CPUs of `n` consecutive u64 fields starting at fieldOffset in entry i, into out[0..n) */
export function sumU64Fields(
  batch: MapBatch,
  i: number,
  fieldOffset: number,
  n: number,
  layout: { copies: number; chunk: number },
  out: Float64Array | number[],
): void {
  for (let k = 0; k < n; k++) out[k] = 0;
  const base = i * batch.valueStride + fieldOffset;
  for (let c = 0; c < layout.copies; c++) {
    const off = base + c * layout.chunk;
    for (let k = 0; k < n; k++) out[k] += readU64(batch.values, off + 8 * k);
  }
}
