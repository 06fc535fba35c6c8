// The one consumer of a family's ring buffer: batches come on the libuv loop (native openRingBuffer), each
// record is decoded and handled through eachRecord (short or unhandleable records are decode drops, never
// a throw). Drained on a timer too: the BPF side (kotel_ringbuf_submit, bpf/kotel.bpf.h) wakes the consumer
// only when the ring is half full.
import type { BpfObject } from '../native';
import { eachRecord, type RecordSink } from './record';

export interface RingSource extends RecordSink {
  object: Pick<BpfObject, 'openRingBuffer'>;
}

export interface RingConsumerOptions {
  ring: string;
  /** kotel.family of its decode drops */
  family: string;
  /** bytes of the record type: shorter records are decode drops */
  recordSize: number;
  /** drains without a wakeup every drainMs (default RING_DRAIN_MS); onDrained after each such drain */
  drainMs?: number;
  onDrained?: () => void;
}

/** how often a ring is drained without a wakeup: how late a record below the half-full mark may be */
export const RING_DRAIN_MS = 100;

/** called once per batch (per-batch state such as the clock offset); returns the handler of its records */
export type BatchHandler = (batch: Buffer) => (base: number) => void;

export interface RingConsumer {
  /** drains what is left, then closes the ring */
  close(): void;
}

export function consumeRing(source: RingSource, options: RingConsumerOptions, onBatch: BatchHandler): RingConsumer {
  const { family, recordSize } = options;
  const ring = source.object.openRingBuffer(options.ring, (batch, count) => {
    eachRecord(source, family, batch, count, recordSize, onBatch(batch));
  });
  let drainFailed = false;
  const timer = setInterval(() => {
    try {
      ring.drain();
      options.onDrained?.();
    } catch (err) {
      // a timer callback that throws would end the agent; the next drain tries again
      if (!drainFailed) source.logger.warn(`${family}: draining ${options.ring} failed: ${(err as Error).message}`);
      drainFailed = true;
    }
  }, options.drainMs ?? RING_DRAIN_MS);
  timer.unref();
  return {
    close: () => {
      clearInterval(timer);
      ring.drain();
      ring.close();
    },
  };
}
