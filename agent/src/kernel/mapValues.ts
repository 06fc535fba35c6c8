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
  const w = wordsOf(batch.values);
  for (let c = 0; c < layout.copies; c++) {
    const off = base + c * layout.chunk;
    if (w && off % 4 === 0) {
      // little-endian host: the low word first
      for (let k = 0, j = off >> 2; k < n; k++, j += 2) {
        const lo = w[j];
        const hi = w[j + 1];
        if (lo !== 0 || hi !== 0) out[k] += lo + hi * 4294967296;
      }
    } else {
      for (let k = 0; k < n; k++) out[k] += readU64(batch.values, off + 8 * k);
    }
  }
}
