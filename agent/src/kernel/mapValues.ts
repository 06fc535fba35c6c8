// Reading u64 fields out of batch-read map buffers (native readMap, readMapSummed, readMapNonzero).

/** little-endian u64 as a number (exact below 2^53, which counters and ns sums stay under) */
export function readU64(buf: Buffer, offset: number): number {
  return buf.readUInt32LE(offset) + buf.readUInt32LE(offset + 4) * 4294967296;
}

/** a buffer of u32 words (readMapNonzero's words) as a Uint32Array, copied if it is not 4-byte aligned */
export function u32Words(buf: Buffer): Uint32Array {
  if (buf.byteOffset % 4 === 0) return new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >> 2);
  return new Uint32Array(Uint8Array.from(buf).buffer);
}
