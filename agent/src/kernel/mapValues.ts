// Reading u64 fields out of batch-read map buffers (native readMap, readMapSummed).
import type { MapBatch } from '../native';

/** little-endian u64 as a number (exact below 2^53, which counters and ns sums stay under) */
export function readU64(buf: Buffer, offset: number): number {
  return buf.readUInt32LE(offset) + buf.readUInt32LE(offset + 4) * 4294967296;
}

/** the buffer as 32-bit words, when it is aligned for that (batch buffers from the addon are) */
const words = new WeakMap<Buffer, Uint32Array | null>();
function wordsOf(buf: Buffer): Uint32Array | null {
  let w = words.get(buf);
  if (w === undefined) {
    w = buf.byteOffset % 4 === 0 ? new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >> 2) : null;
    words.set(buf, w);
  }
  return w;
}

/** the `n` consecutive u64 fields from fieldOffset of entry i of a batch of one copy per value (readMapSummed,
 * or a map that is not per-CPU), into out[0..n) */
export function readU64Fields(batch: MapBatch, i: number, fieldOffset: number, n: number, out: Float64Array): void {
  const off = i * batch.valueStride + fieldOffset;
  const w = wordsOf(batch.values);
  if (w && off % 4 === 0) {
    // little-endian host: the low word first
    for (let k = 0, j = off >> 2; k < n; k++, j += 2) out[k] = w[j] + w[j + 1] * 4294967296;
  } else {
    for (let k = 0; k < n; k++) out[k] = readU64(batch.values, off + 8 * k);
  }
}
