// Ring-buffer batches are handled in libuv callbacks, where a throw ends the agent: a short record, or one
// its handler throws on, is counted as a decode drop and the rest of the batch is still handled.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { eachRecord } from '../../agent/src/kernel/record';
import { UserDrops } from '../../agent/src/kernel/drops';

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
