// The one consumer of a family's ring buffer: batches come on the libuv loop (native openRingBuffer), each
// record is decoded and handled through eachRecord (short or unhandleable records are decode drops, never
// a throw). Drained on a timer too: the BPF side (kotel_ringbuf_submit, bpf/kotel.bpf.h) wakes the consumer
// only when the ring is half full.
// Optionally with a backlog, for rings whose records cost the handler far more than the drain (the RDMA QP
// spans): batches are queued and handled in slices on the loop, the ring drained again between slices, so
// the ring empties at the drain's rate (a copy) and a burst waits in the backlog (bounded) instead of
// filling the ring while the handler runs short of CPU.
import type { BpfObject, RingBuffer } from '../native';
import { eachRecord, handleRecord, nextRecord, RECORD_HEADER, type RecordSink } from './record';

export interface RingSource extends RecordSink {
  object: Pick<BpfObject, 'openRingBuffer'>;
}

export interface RingBacklogOptions {
  /** records handled before the ring is drained again and the loop runs other callbacks */
  sliceRecords: number;
  /** bytes of batches waiting at most: beyond, the ring is not drained (it fills; the BPF side counts
   * what it cannot reserve as ringbuf_full), and a batch a wakeup delivers is dropped (backlog_full) */
  maxBytes: number;
}

export interface RingConsumerOptions {
  ring: string;
  /** kotel.family of its decode drops */
  family: string;
  /** bytes of the record type: shorter records are decode drops */
  recordSize: number;
  /** drains without a wakeup every drainMs (default RING_DRAIN_MS); onDrained after each such drain (with a
   * backlog: once the records drained so far are all handled) */
  drainMs?: number;
  onDrained?: () => void;
  backlog?: RingBacklogOptions;
}

/** how often a ring is drained without a wakeup: how late a record below the half-full mark may be */
export const RING_DRAIN_MS = 100;

/** called once per batch (per-batch state such as the clock offset); returns the handler of its records */
export type BatchHandler = (batch: Buffer) => (base: number) => void;

export interface RingConsumer {
  /** drains what is left (and handles the backlog), then closes the ring */
  close(): void;
}

export function consumeRing(source: RingSource, options: RingConsumerOptions, onBatch: BatchHandler): RingConsumer {
  const { family, recordSize } = options;
  const backlog = options.backlog ? new Backlog(source, options, onBatch, options.backlog) : undefined;
  const ring = source.object.openRingBuffer(options.ring, (batch, count) => {
    if (backlog) backlog.push(batch, count);
    else eachRecord(source, family, batch, count, recordSize, onBatch(batch));
  });
  backlog?.attach(ring);
  let drainFailed = false;
  const stopDraining = everyMs(options.drainMs ?? RING_DRAIN_MS, () => {
    try {
      if (!backlog) {
        ring.drain();
        options.onDrained?.();
      } else if (backlog.hasRoom()) {
        ring.drain();
        backlog.whenHandled(options.onDrained);
      }
    } catch (err) {
      // a timer callback that throws would end the agent; the next drain tries again
      if (!drainFailed) source.logger.warn(`${family}: draining ${options.ring} failed: ${(err as Error).message}`);
      drainFailed = true;
    }
  });
  return {
    close: () => {
      stopDraining();
      ring.drain();
      backlog?.flush();
      ring.close();
    },
  };
}

/** the rings drained at one period share one timer: one wakeup for all of them, not one per ring */
const drainTimers = new Map<number, { timer: NodeJS.Timeout; drains: Set<() => void> }>();

function everyMs(ms: number, drain: () => void): () => void {
  let t = drainTimers.get(ms);
  if (!t) {
    const drains = new Set<() => void>();
    t = { drains, timer: setInterval(() => drains.forEach((d) => d()), ms).unref() };
    drainTimers.set(ms, t);
  }
  t.drains.add(drain);
  return () => {
    const entry = drainTimers.get(ms);
    if (!entry?.drains.delete(drain) || entry.drains.size) return;
    clearInterval(entry.timer);
    drainTimers.delete(ms);
  };
}

interface QueuedBatch {
  batch: Buffer;
  /** records not handled yet, and where the next one starts */
  left: number;
  offset: number;
  handle?: (base: number) => void;
}

/** batches waiting to be handled, in order; handled a slice at a time from setImmediate */
class Backlog {
  private readonly queue: QueuedBatch[] = [];
  private bytes = 0;
  private scheduled = false;
  private ring?: Pick<RingBuffer, 'drain'>;
  private onHandled?: () => void;

  constructor(
    private readonly sink: RecordSink,
    private readonly options: RingConsumerOptions,
    private readonly onBatch: BatchHandler,
    private readonly limits: RingBacklogOptions,
  ) {}

  attach(ring: Pick<RingBuffer, 'drain'>): void {
    this.ring = ring;
  }

  hasRoom(): boolean {
    return this.bytes < this.limits.maxBytes;
  }

  push(batch: Buffer, count: number): void {
    if (!this.hasRoom()) {
      // a wakeup (the ring more than half full) while the backlog is full: bounded memory over every record
      this.sink.drops.add(this.options.family, 'backlog_full', count);
      return;
    }
    this.queue.push({ batch, left: count, offset: 0 });
    this.bytes += batch.length;
    this.schedule();
  }

  /** calls done once every record queued so far is handled (now, if none waits) */
  whenHandled(done?: () => void): void {
    if (!done) return;
    if (this.queue.length === 0) done();
    else this.onHandled = done;
  }

  /** handles everything queued, now (close) */
  flush(): void {
    while (this.queue.length) this.slice(Infinity);
    this.handled();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.run());
  }

  private run(): void {
    this.scheduled = false;
    this.slice(this.limits.sliceRecords);
    // the ring again, between slices: what came meanwhile joins the backlog and frees the ring
    if (this.hasRoom()) {
      try {
        this.ring?.drain();
      } catch {
        // the timer's drain reports failures; the next one tries again
      }
    }
    if (this.queue.length) this.schedule();
    else this.handled();
  }

  private handled(): void {
    const done = this.onHandled;
    this.onHandled = undefined;
    done?.();
  }

  /** handles up to n records from the head of the queue */
  private slice(n: number): void {
    const { family, recordSize } = this.options;
    while (n > 0 && this.queue.length) {
      const head = this.queue[0];
      head.handle ??= this.onBatch(head.batch); // per-batch state, taken when its records are handled
      if (head.left === 0 || head.offset + RECORD_HEADER > head.batch.length) {
        this.queue.shift();
        this.bytes -= head.batch.length;
        continue;
      }
      // forEachRecord's walk, resumable between slices
      const length = head.batch.readUInt32LE(head.offset);
      handleRecord(this.sink, family, head.batch, head.offset + RECORD_HEADER, length, recordSize, head.handle);
      head.offset = nextRecord(head.offset, length);
      head.left--;
      n--;
    }
  }
}
