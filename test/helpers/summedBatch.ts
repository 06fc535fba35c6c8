// What the addon's readMapSummed makes of a readMap batch, for stand-in BPF objects in unit tests: each
// per-CPU value's copies summed u64 by u64 (wrapping). test/integration/histogram-buckets.test.ts checks the
// addon against this on a real map.
import type { MapBatch, MapInfo } from '../../agent/src/native';

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
