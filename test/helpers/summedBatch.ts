// What the addon's readMapSummed and readMapNonzero make of a readMap batch, for stand-in BPF objects in unit
// tests: each per-CPU value's copies summed u64 by u64 (wrapping); then only the nonzero words, with their
// indices. test/integration/histogram-buckets.test.ts checks the addon against these on a real map.
import type { MapBatch, MapInfo, NonzeroBatch } from '../../agent/src/native';

export function summedBatch(info: MapInfo, batch: MapBatch): MapBatch {
  if (!info.percpu) return batch;
  const chunk = Math.ceil(info.valueSize / 8) * 8;
  const values = Buffer.alloc(batch.count * chunk);
  for (let i = 0; i < batch.count; i++)
    for (let k = 0; k < chunk; k += 8) {
      let sum = 0n;
      for (let c = 0; c < batch.valueStride; c += chunk) sum += batch.values.readBigUInt64LE(i * batch.valueStride + c + k);
      values.writeBigUInt64LE(BigInt.asUintN(64, sum), i * chunk + k);
    }
  return { count: batch.count, keys: batch.keys, values, valueStride: chunk };
}

/** a summed batch's values as readMapNonzero's words: per entry n, then n x (word index, low, high) */
export function nonzeroWords(summed: MapBatch): Uint32Array {
  const words: number[] = [];
  for (let i = 0; i < summed.count; i++) {
    const at = words.push(0) - 1;
    for (let k = 0; k < summed.valueStride / 8; k++) {
      const v = summed.values.readBigUInt64LE(i * summed.valueStride + 8 * k);
      if (v === 0n) continue;
      words.push(k, Number(v & 0xffffffffn), Number(v >> 32n));
      words[at]++;
    }
  }
  return Uint32Array.from(words);
}

export function nonzeroBatch(info: MapInfo, batch: MapBatch): NonzeroBatch {
  const words = nonzeroWords(summedBatch(info, batch));
  return { count: batch.count, keys: batch.keys, words: Buffer.from(words.buffer, words.byteOffset, words.byteLength) };
}
