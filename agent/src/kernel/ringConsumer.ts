// The one consumer of a family's ring buffer: batches come on the libuv loop (native openRingBuffer), each
// record is decoded and handled through eachRecord (short or unhandleable records are decode drops, never
// a throw). Optionally drained on a timer too, for rings whose BPF side wakes the consumer only when half full.
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
  /** drains without a wakeup every drainMs; onDrained after each such drain */
  drainMs?: number;
  onDrained?: () => void;
}

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
  let timer: NodeJS.Timeout | undefined;
  if (options.drainMs) {
    let drainFailed = false;
    timer = setInterval(() => {
      try {
        ring.drain();
        options.onDrained?.();
      } catch (err) {
        // a timer callback that throws would end the agent; the next drain tries again
        if (!drainFailed) source.logger.warn(`${family}: draining ${options.ring} failed: ${(err as Error).message}`);
        drainFailed = true;
      }
    }, options.drainMs);
    timer.unref();
  }
  return {
    close: () => {
      clearInterval(timer);
      ring.drain();
      ring.close();
    },
  };
}
