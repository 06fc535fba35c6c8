// The RDMA family when its ring buffer is full: QPs whose destroy records were lost still end (as
// destroy_unseen), leave rdma.connection.active, and the loss is counted. Fake HCA (test/helpers/rdma.ts).
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { startOtlpReceiver, type DecodedSpan } from '../helpers/otlpReceiver';
import { latest } from '../helpers/points';
import { createCgroup, type TestCgroup } from '../helpers/cgroup';
import { startAgent, writeConfig } from '../helpers/agentProcess';
import { waitValue, Workload } from '../helpers/fakeHca';
import { buildRdmaFixtures, FAKE_DEVICE, FAKE_SYSFS, parseTally, RDMA_WORKLOAD, type WorkloadTally } from '../helpers/rdma';
import { scaled } from '../helpers/timing';

describe('rdma family: a full ring (fake HCA)', { timeout: scaled(180_000) }, () => {
  const cgroups: Record<string, TestCgroup> = {};

  before(() => {
    buildRdmaFixtures();
    for (const name of ['rdma-lost', 'rdma-fill']) cgroups[name] = createCgroup(name);
  });

  after(() => {
    for (const cg of Object.values(cgroups)) cg.remove();
  });

  test('destroy records lost in a full ring: the QPs still end (destroy_unseen), leave rdma.connection.active, and the loss is counted', async () => {
    // an agent of its own with the smallest ring (4 KiB: 23 records), so a few records fill it
    const rx = await startOtlpReceiver();
    const small = startAgent([
      'run',
      '--config',
      writeConfig(`
families:
  tcp: { enabled: false }
  sched: { enabled: false }
  locks: { enabled: false }
  rdma: { enabled: true, sysfsRoot: ${FAKE_SYSFS}, libraryScanInterval: 0, ringBufferBytes: 4096 }
otlp: { endpoint: "http://127.0.0.1:${rx.grpcPort}", protocol: grpc }
metrics: { interval: 500 }
prometheus: { enabled: false }
console: { enabled: false }
`),
    ]);
    try {
      await small.waitFor(/kotel running/, 60_000);
      const cg = cgroups['rdma-lost'];
      const drops = (reason: string) =>
        latest(rx, 'kotel.events.dropped', { 'kotel.family': 'rdma', 'kotel.drop.reason': reason })?.value ?? 0;
      const w = new Workload(cg, RDMA_WORKLOAD, ['--hold', '--qps', '3', '--mrs', '0', '--no-fail']);
      await w.ready();
      await waitValue(rx, 'rdma.connection.active', { 'cgroup.id': cg.id, 'rdma.device': FAKE_DEVICE }, 3, 'holding');
      const ringFullBefore = drops('ringbuf_full');
      // the agent stops consuming rdma_events; 20 QPs made and destroyed (40 records) fill its ring, so the
      // workload's destroy records find it full and are lost
      small.child.kill('SIGSTOP');
      let tally: WorkloadTally;
      try {
        await new Workload(cgroups['rdma-fill'], RDMA_WORKLOAD, ['--qps', '0', '--mrs', '0', '--churn', '20']).finish();
        tally = parseTally(await w.finish());
      } finally {
        small.child.kill('SIGCONT');
      }
      await rx.waitFor(() => drops('ringbuf_full') > ringFullBefore, 20_000, 'records lost to the full ring');
      await waitValue(
        rx,
        'rdma.connection.active',
        { 'cgroup.id': cg.id, 'rdma.device': FAKE_DEVICE },
        0,
        'connections of the destroyed QPs',
      );
      assert.equal(tally.qps.length, 3);
      for (const q of tally.qps) {
        const mine = (s: DecodedSpan) =>
          s.name === 'rdma.qp' && s.attributes['process.pid'] === tally.pid && s.attributes['rdma.src.qp_num'] === q.qpn;
        const span = await rx.waitFor(() => rx.spans().find(mine), 20_000, `span of QP ${q.qpn}`);
        assert.equal(rx.spans().filter(mine).length, 1);
        assert.equal(span.attributes['rdma.qp.end'], 'destroy_unseen');
        assert.equal(span.attributes['rdma.dst.qp_num'], q.dest_qpn);
        assert.deepEqual(
          span.events.map((e) => e.attributes['rdma.qp.state']),
          ['init', 'rtr', 'rts'],
        );
      }
      // every span ended so is one destroy_unseen drop (the churn's last QP may be among them)
      const unseen = () => rx.spans().filter((s) => s.attributes['rdma.qp.end'] === 'destroy_unseen').length;
      await rx.waitFor(
        () => drops('destroy_unseen') === unseen(),
        20_000,
        `kotel.events.dropped destroy_unseen = ${unseen()} spans ended so`,
      );
      assert.ok(unseen() >= 3 && unseen() <= 4, `the workload's 3 QPs, and the churn's last one at most: ${unseen()}`);
    } finally {
      await small.stop();
      await rx.close();
    }
  });
});
