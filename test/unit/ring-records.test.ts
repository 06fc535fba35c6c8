// Ring-buffer batches are handled in libuv callbacks, where a throw ends the agent: a short record, or one
// its handler throws on, is counted as a decode drop and the rest of the batch is still handled; every
// family consumes its ring through consumeRing (kernel/ringConsumer.ts).
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { eachRecord } from '../../agent/src/kernel/record';
import { UserDrops } from '../../agent/src/kernel/drops';
import { consumeRing } from '../../agent/src/kernel/ringConsumer';
import type { RingBatchCallback } from '../../agent/src/native';

/** a batch as the addon hands it over: [u32 len][u32 0][record][pad to 8] per record */
function batch(records: Buffer[]): Buffer {
  return Buffer.concat(
    records.map((r) => {
      const head = Buffer.alloc(8);
      head.writeUInt32LE(r.length, 0);
      return Buffer.concat([head, r, Buffer.alloc((8 - (r.length % 8)) % 8)]);
    }),
  );
}

test('a record the handler throws on, and a short one, are decode drops; the others are handled', () => {
  const drops = new UserDrops();
  const warnings: string[] = [];
  const sink = { drops, logger: { warn: (m: string) => warnings.push(m) } };
  const records = [
    Buffer.from([1, 0, 0, 0]),
    Buffer.from([2, 0, 0, 0]),
    Buffer.from([3]),
    Buffer.from([4, 0, 0, 0]),
    Buffer.from([5, 0, 0, 0]),
  ];
  const seen: number[] = [];
  const b = batch(records);
  const run = () =>
    eachRecord(sink, 'rdma', b, records.length, 4, (base) => {
      const v = b.readUInt32LE(base);
      if (v === 2 || v === 5) throw new Error(`bad record ${v}`);
      seen.push(v);
    });
  assert.doesNotThrow(run);
  assert.deepEqual(seen, [1, 4]);
  assert.deepEqual([...drops.entries()], [{ family: 'rdma', reason: 'decode', n: 3 }]);
  run();
  assert.deepEqual(warnings, ['rdma: a ring-buffer record could not be handled (counted as a decode drop): bad record 2'], 'logged once');
});

test('consumeRing: one handler per batch, short records are decode drops, timer drains, close drains then closes', async () => {
  const drops = new UserDrops();
  const warnings: string[] = [];
  let onBatch: RingBatchCallback | undefined;
  const calls: string[] = [];
  let failDrain = true;
  const object = {
    openRingBuffer: (name: string, cb: RingBatchCallback) => {
      calls.push(`open ${name}`);
      onBatch = cb;
      return {
        delivered: 0,
        drain: () => {
          calls.push('drain');
          if (failDrain) throw new Error('EBADF');
          return 0;
        },
        close: () => calls.push('close'),
      };
    },
  };
  let drained = 0;
  const seen: string[] = [];
  const consumer = consumeRing(
    { object, drops, logger: { warn: (m: string) => warnings.push(m) } },
    { ring: 'x_events', family: 'x', recordSize: 4, drainMs: 5, onDrained: () => drained++ },
    (b) => {
      const tag = `batch${seen.length}`;
      return (base) => seen.push(`${tag}:${b.readUInt32LE(base)}`);
    },
  );
  const records = [Buffer.from([7, 0, 0, 0]), Buffer.from([1]), Buffer.from([8, 0, 0, 0])];
  assert.doesNotThrow(() => onBatch!(batch(records), records.length));
  assert.deepEqual(seen, ['batch0:7', 'batch0:8'], 'one handler for the whole batch');
  assert.deepEqual([...drops.entries()], [{ family: 'x', reason: 'decode', n: 1 }]);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(drained, 0, 'a failed drain is not a drain');
  assert.deepEqual(warnings, ['x: draining x_events failed: EBADF'], 'logged once');
  failDrain = false;
  await new Promise((r) => setTimeout(r, 30));
  assert.ok(drained > 0, 'drained by the timer');
  consumer.close();
  const n = drained;
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(drained, n, 'no timer after close');
  assert.deepEqual(calls.slice(-2), ['drain', 'close']);
});

test('consumeRing with a backlog: batches handled in order in slices, the ring drained between slices, onDrained once all is handled, close handles the rest', async () => {
  const drops = new UserDrops();
  let onBatch: RingBatchCallback | undefined;
  /** what the fake ring holds: drain() delivers it as one batch */
  let waiting: Buffer[] = [];
  const calls: string[] = [];
  const deliver = () => {
    const records = waiting;
    waiting = [];
    if (records.length) onBatch!(batch(records), records.length);
    return records.length;
  };
  const object = {
    openRingBuffer: (_name: string, cb: RingBatchCallback) => {
      onBatch = cb;
      return {
        delivered: 0,
        drain: () => {
          calls.push('drain');
          return deliver();
        },
        close: () => calls.push('close'),
      };
    },
  };
  const rec = (n: number) => Buffer.from([n, 0, 0, 0]);
  const seen: string[] = [];
  let drained = 0;
  let batches = 0;
  const consumer = consumeRing(
    { object, drops, logger: { warn: () => undefined } },
    {
      ring: 'x_events',
      family: 'x',
      recordSize: 4,
      drainMs: 5,
      onDrained: () => drained++,
      backlog: { sliceRecords: 2, maxBytes: 1 << 20 },
    },
    (b) => {
      const tag = `b${batches++}`;
      return (base) => seen.push(`${tag}:${b.readUInt32LE(base)}`);
    },
  );
  waiting = [rec(1), rec(2), Buffer.from([9]), rec(3), rec(4)];
  deliver(); // a wakeup
  assert.deepEqual(seen, [], 'queued, not handled in the callback');
  waiting = [rec(5)]; // submitted while the first batch waits: taken by the drain after the first slice
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(seen, ['b0:1', 'b0:2'], 'one slice');
  assert.equal(drained, 0);
  await new Promise((r) => setTimeout(r, 40));
  assert.deepEqual(seen, ['b0:1', 'b0:2', 'b0:3', 'b0:4', 'b1:5'], 'in order, one handler per batch');
  assert.deepEqual([...drops.entries()], [{ family: 'x', reason: 'decode', n: 1 }]);
  assert.ok(drained > 0, 'onDrained once the drained records are handled');
  waiting = [rec(6), rec(7), rec(8)];
  deliver();
  waiting = [rec(9)];
  consumer.close();
  assert.deepEqual(seen.slice(5), ['b2:6', 'b2:7', 'b2:8', 'b3:9'], 'close drains and handles the backlog');
  assert.deepEqual(calls.slice(-2), ['drain', 'close']);
});

test('consumeRing with a full backlog: the ring is not drained until the backlog is below maxBytes, a batch delivered meanwhile is a backlog_full drop', async () => {
  let onBatch: RingBatchCallback | undefined;
  let drains = 0;
  const object = {
    openRingBuffer: (_name: string, cb: RingBatchCallback) => {
      onBatch = cb;
      return { delivered: 0, drain: () => (drains++, 0), close: () => undefined };
    },
  };
  const seen: number[] = [];
  const drops = new UserDrops();
  const consumer = consumeRing(
    { object, drops, logger: { warn: () => undefined } },
    { ring: 'x_events', family: 'x', recordSize: 4, backlog: { sliceRecords: 1, maxBytes: 20 } },
    (b) => (base) => seen.push(b.readUInt32LE(base)),
  );
  const records = [1, 2, 3].map((n) => Buffer.from([n, 0, 0, 0]));
  onBatch!(batch(records), 3); // 3 x 16 bytes: over maxBytes until it is handled
  onBatch!(batch(records.slice(0, 2)), 2); // a wakeup meanwhile: dropped, counted
  assert.deepEqual([...drops.entries()], [{ family: 'x', reason: 'backlog_full', n: 2 }]);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(seen, [1]);
  assert.equal(drains, 0, 'not drained while the backlog is full');
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(seen, [1, 2, 3]);
  assert.equal(drains, 1, 'drained again once the batch was handled, not before');
  consumer.close();
});
