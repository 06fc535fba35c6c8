// Child process of the streaming benchmark: consumes bench/bpf/stream.bpf.c's ring buffer the way the
// families do (addon openRingBuffer → one Buffer per batch → RecordReader over the BTF layout, drained on
// the families' timer too), so its CPU is the pipeline's. Prints "ready", then answers each "stats" line on stdin with one JSON line.
import * as readline from 'node:readline';
import { BpfObject } from '../agent/src/native';
import { readU64 } from '../agent/src/kernel/mapValues';
import { forEachRecord, RecordReader } from '../agent/src/kernel/record';
import { RING_DRAIN_MS } from '../agent/src/kernel/ringConsumer';

const object = BpfObject.open(process.argv[2], {
  ladders: { stream: [{ program: 'stream_tp', kind: 'tp' }] },
  maxEntries: process.argv[3] ? { stream_events: Number(process.argv[3]) } : undefined,
});
if (!object.attachments[0].attached) {
  process.stderr.write(`stream_tp did not attach: ${object.attachments[0].failures.at(-1)?.reason}\n`);
  process.exit(1);
}
const reader = new RecordReader(object.layout('stream_event'), ['seq', 'ts_ns', 'n'] as const, 'stream_event');
const N = reader.offset('n');
let delivered = 0;
let checksum = 0;
let batches = 0;
const ring = object.openRingBuffer('stream_events', (batch, count) => {
  batches++;
  forEachRecord(batch, count, (offset, length) => {
    if (length < reader.size) return;
    checksum += batch.readUInt32LE(offset + N); // touch the record as the hot decoders do (the offset from the BTF layout)
    delivered++;
  });
});

// as consumeRing does: the BPF side wakes this process only when the ring is half full
setInterval(() => ring.drain(), RING_DRAIN_MS);

function kernelStats(): { produced: number; dropped: number } {
  const info = object.mapInfo('stream_stats');
  const batch = object.readMapSummed('stream_stats');
  const v = [0, 0];
  for (let i = 0; i < batch.count; i++) v[batch.keys.readUInt32LE(i * info.keySize)] = readU64(batch.values, i * batch.valueStride);
  return { produced: v[0], dropped: v[1] };
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'stats') return;
  ring.drain();
  process.stdout.write(JSON.stringify({ delivered, batches, checksum, ...kernelStats() }) + '\n');
});
process.stdin.on('end', () => {
  ring.close();
  object.close();
  process.exit(0);
});
process.stdout.write('ready\n');
