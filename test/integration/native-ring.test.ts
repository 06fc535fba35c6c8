// The addon's ring buffers against the running kernel (root): batches of the fixture's records on the event
// loop, drain() and close(), and a callback that throws (test/fixtures/bpf/addon_fixture.bpf.c).
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';

import type { BpfObject, RingBuffer } from '../../agent/src/native';
import { scaled } from '../helpers/timing';
import { getppidTimes, KIND, KIND_BTF, KIND_TP, KPROBES, notRoot, openFixture, selfCgroupId, waitFor } from '../helpers/addonFixture';

describe('native addon ring buffers on the running kernel', { skip: notRoot }, () => {
  let obj: BpfObject;
  const cgid = notRoot ? 0n : selfCgroupId();

  before(() => {
    obj = openFixture();
  });

  after(() => obj?.close());

  test('ring buffer: batches arrive on the event loop with this pid', async () => {
    const layout = obj.layout('fixture_event');
    const F = layout.fields;
    let batches = 0;
    let records = 0;
    let ours = 0;
    const rb: RingBuffer = obj.openRingBuffer('fixture_events', (buf, count) => {
      batches++;
      let off = 0;
      let n = 0;
      while (off < buf.length) {
        const len = buf.readUInt32LE(off);
        assert.equal(buf.readUInt32LE(off + 4), 0);
        assert.equal(len, layout.size);
        const rec = buf.subarray(off + 8, off + 8 + len);
        assert.equal(rec.readUInt32LE(F.pid.offset), process.pid);
        assert.equal(rec.readBigUInt64LE(F.cgroup_id.offset), cgid);
        const kind = rec.readUInt32LE(F.kind.offset);
        assert.ok(kind === KIND || kind === KIND_TP || kind === KIND_BTF);
        assert.equal(rec.readUInt32LE(F['inner.a'].offset), 0xa11ce);
        assert.equal(rec.readUInt16LE(F['inner.b'].offset), 0xb0b);
        assert.equal(rec[F['inner.d'].offset], 0xd);
        assert.equal(rec.subarray(F.comm.offset, F.comm.offset + 4).toString(), 'node');
        if (kind === KIND) ours++;
        off += 8 + ((len + 7) & ~7);
        n++;
      }
      assert.equal(n, count, 'count matches the records in the batch');
      records += count;
    });
    rb.drain(); // whatever earlier tests left
    ours = 0;
    const N = 100;
    const perCall = KPROBES ? 2 : 1; // the kprobe on getppid writes the same record as raw_tp
    getppidTimes(N);
    await waitFor(() => ours >= N * perCall);
    assert.equal(ours, N * perCall, `one raw_tp record per getppid()${KPROBES ? ', and one of the kprobe' : ''}`);
    assert.ok(batches < records, `batched: ${batches} batches for ${records} records`);
    assert.equal(rb.delivered, records);
    getppidTimes(3);
    assert.ok(rb.drain() >= 3, 'drain() delivers synchronously');
    rb.close();
    rb.close();
    getppidTimes(3);
    await new Promise((r) => setTimeout(r, scaled(50)));
    assert.equal(rb.delivered, records, 'nothing delivered after close()');
  });

  test('ring buffer: an exception in the callback becomes a process warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    let calls = 0;
    const rb = obj.openRingBuffer('fixture_events', () => {
      calls++;
      throw new Error('decoder bug');
    });
    try {
      getppidTimes(2);
      await waitFor(() => warnings.length > 0);
      assert.equal(warnings[0].message, 'decoder bug');
      getppidTimes(2);
      await waitFor(() => calls >= 2); // still polling after the exception
    } finally {
      rb.close();
      process.off('warning', onWarning);
    }
  });
});
