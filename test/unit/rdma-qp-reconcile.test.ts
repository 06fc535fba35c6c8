// The QP table converges on what the kernel has: records are lost when the ring is full (counted as
// ringbuf_full), but rdma_objects is exact, so at each collection the table is reconciled with it. QP
// records written by the host C compiler from bpf/rdma.h, decoded with the layouts the real BPF objects
// report from their BTF, fed to the real QP table; the map's contents are a stand-in list of live objects
// (what ObjectTable.read() returns; the real map is read in test/integration/rdma.test.ts). Opening the
// objects needs root.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { test } from 'node:test';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { CgroupResolver } from '../../agent/src/host/cgroups';
import { epochNsToHrTime } from '../../agent/src/host/clock';
import { BpfObject } from '../../agent/src/native';
import { SOURCE } from '../../agent/src/probes/rdma/kernel';
import { Seeds } from '../../agent/src/probes/rdma/seed';
import type { LiveObject } from '../../agent/src/probes/rdma/objects';
import { kernelQpLiveness, userQpLiveness } from '../../agent/src/probes/rdma/qpLiveness';
import { makeQpEventDecoder, QpTable, type QpEvent } from '../../agent/src/probes/rdma/qps';
import { RdmaDevices } from '../../agent/src/probes/rdma/devices';
import { runC } from '../helpers/cbuild';
import { fakeSysfs } from '../helpers/sysfs';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const notRoot = process.getuid?.() !== 0 ? 'opening a BPF object needs root' : false;

/** the records, by name: user path (mlx5_0, process 777 unless said) and kernel path (mlx5_1) */
const RECORDS = [
  'aCreate',
  'aInit',
  'aRtr',
  'aRts',
  'bCreate',
  'bDestroy',
  'cRts',
  'dInit',
  'a2Create',
  'eRts',
  'fCreate',
  'gRts',
] as const;
type Name = (typeof RECORDS)[number];

function recordsFromC(): Buffer {
  return runC(`
#include <linux/types.h>
#include <stdio.h>
#include <string.h>
#include "rdma.h"
static struct rdma_qp_event e;
static void rec(__u32 kind, __u64 qp, __u32 tgid, __u32 qpn, __u32 state, const char *dev) {
  memset(&e, 0, sizeof(e));
  e.ts_ns = 1000; e.cgroup_id = 4242; e.qp = qp; e.tgid = tgid; e.tid = tgid; e.kind = kind; e.qpn = qpn;
  e.qp_type = 2; e.state = state; e.attr_mask = kind == RDMA_QP_MODIFY ? 1 : 0; e.port = 1;
  strcpy((char *)e.comm, "trainer"); strcpy((char *)e.device, dev);
}
static void out(void) { fwrite(&e, sizeof(e), 1, stdout); }
int main(void) {
  unsigned char dgid[16] = {0xfe,0x80,0,0,0,0,0,0,2,0,0,0,0,0,0,2};
  rec(RDMA_QP_CREATE, 0xa000, 777, 0x11, 0, "mlx5_0"); e.state = 0; out();
  rec(RDMA_QP_MODIFY, 0xa000, 777, 0x11, 1, "mlx5_0"); out();
  rec(RDMA_QP_MODIFY, 0xa000, 777, 0x11, 2, "mlx5_0"); e.attr_mask = 1 | 128 | (1 << 20); e.dest_qpn = 0x100001;
  e.is_global = 1; e.sgid_index = 0; memcpy(e.dgid, dgid, 16); out();
  rec(RDMA_QP_MODIFY, 0xa000, 777, 0x11, 3, "mlx5_0"); out();
  rec(RDMA_QP_CREATE, 0xb000, 777, 0x12, 0, "mlx5_0"); out();
  rec(RDMA_QP_DESTROY, 0xb000, 777, 0x12, 0, ""); out();
  rec(RDMA_QP_MODIFY, 0xc000, 778, 0x13, 3, "mlx5_0"); out();   /* created before kotel attached */
  rec(RDMA_QP_MODIFY, 0xd000, 777, 0x14, 1, "mlx5_0"); out();   /* its create record was lost */
  rec(RDMA_QP_CREATE, 0xa000, 777, 0x15, 0, "mlx5_0"); out();   /* A's address, reused */
  /* kernel path: qp is the rdma_restrack_entry's address */
  rec(RDMA_QP_MODIFY, 0xffff8880000e0000ULL, 0, 0x42, 3, "mlx5_1"); out();   /* seeded from netlink */
  rec(RDMA_QP_CREATE, 0xffff8880000f0000ULL, 4242, 0x43, 0, "mlx5_1"); out();
  rec(RDMA_QP_MODIFY, 0xffff888000070000ULL, 0, 0x44, 3, "mlx5_1"); out();   /* a kernel user's, not seeded */
  return 0;
}`);
}

function setup(objectFile: string, source?: string, maxLive?: number) {
  const object = BpfObject.open(path.join(ROOT, 'bpf', '.output', objectFile), { ladders: {} });
  const sysfs = fakeSysfs({
    mlx5_0: { '1/0': 'fe80:0000:0000:0000:0200:0000:0000:0001' },
    mlx5_1: { '1/0': 'fe80:0000:0000:0000:0200:0000:0000:0003' },
  });
  try {
    const layout = object.layout('rdma_qp_event');
    const buf = recordsFromC();
    assert.equal(buf.length, RECORDS.length * layout.size, 'C sizeof matches the BTF size');
    const decode = makeQpEventDecoder(layout);
    const records = Object.fromEntries(RECORDS.map((n, i) => [n, i])) as Record<Name, number>;
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const drops = { n: 0, full: 0 };
    const table = new QpTable(
      provider.getTracer('t'),
      new CgroupResolver(undefined),
      new RdmaDevices(sysfs.root, () => assert.fail('known devices')),
      true,
      source,
      (reason) => (reason === 'map_full' ? drops.full++ : drops.n++),
      maxLive,
    );
    return {
      table,
      drops,
      apply: (...names: Name[]) => names.forEach((n) => table.apply(decode(buf, records[n] * layout.size))),
      record: (n: Name): QpEvent => decode(buf, records[n] * layout.size),
      ended: (qpn: number): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.attributes['rdma.src.qp_num'] === qpn),
      close: () => {
        object.close();
        sysfs.remove();
      },
    };
  } catch (err) {
    object.close();
    sysfs.remove();
    throw err;
  }
}

/** a live object of rdma_objects as ObjectTable.read() reports it */
function qpObject(ev: QpEvent, keyTgid = ev.tgid): LiveObject {
  return { tgid: keyTgid, cgroupId: ev.cgroupId, type: 5, device: ev.device, handle: ev.qpn, ptr: ev.qp };
}

test(
  'user path: a QP whose destroy record was lost ends once rdma_objects no longer has it (after a drain), as destroy_unseen',
  { skip: notRoot },
  () => {
    const t = setup('rdma.bpf.o');
    try {
      t.apply('aCreate', 'aInit', 'aRtr', 'aRts');
      const a = qpObject(t.record('aCreate'));
      const alive = () => true;
      t.table.reconcile(userQpLiveness([a], alive));
      t.table.drained();
      t.table.reconcile(userQpLiveness([a], alive));
      assert.equal(t.table.connections().length, 1, 'live in the map: kept');
      // destroyed, its record lost: the map no longer has it
      t.table.reconcile(userQpLiveness([], alive));
      t.table.reconcile(userQpLiveness([], alive));
      assert.equal(t.ended(0x11).length, 0, 'no drain since it went missing: its destroy record may still be in the ring');
      t.table.drained();
      t.table.reconcile(userQpLiveness([], alive));
      const [span] = t.ended(0x11);
      assert.equal(span?.attributes['rdma.qp.end'], 'destroy_unseen');
      assert.equal(span.attributes['rdma.dst.qp_num'], 0x100001, 'the span keeps what was seen');
      assert.equal(t.table.connections().length, 0, 'gone from rdma.connection.active');
      assert.equal(t.table.size, 0);
      assert.equal(t.drops.n, 1, 'one destroy_unseen drop');
    } finally {
      t.close();
    }
  },
);

test('the table holds at most rdma.maxObjects QPs: beyond, not tracked and counted as map_full', { skip: notRoot }, () => {
  const t = setup('rdma.bpf.o', undefined, 1);
  try {
    t.apply('aCreate', 'bCreate', 'dInit');
    assert.equal(t.table.size, 1);
    assert.equal(t.drops.full, 2, 'a create and a first sight at a modify refused');
    t.apply('aInit', 'aRtr', 'aRts');
    assert.equal(t.table.connections().length, 1, 'the tracked QP goes on');
    assert.equal(t.drops.full, 2);
  } finally {
    t.close();
  }
});

test('user path: a destroy record that arrives after the map read ends the QP normally, no drop', { skip: notRoot }, () => {
  const t = setup('rdma.bpf.o');
  try {
    t.apply('bCreate');
    t.table.reconcile(userQpLiveness([], () => true)); // the map read between the delete and the record
    t.apply('bDestroy');
    t.table.drained();
    t.table.reconcile(userQpLiveness([], () => true));
    assert.deepEqual(
      t.ended(0x12).map((s) => s.attributes['rdma.qp.end']),
      ['destroy'],
    );
    assert.equal(t.drops.n, 0);
  } finally {
    t.close();
  }
});

test('user path: a create at the address of a QP whose destroy was lost ends the old span as destroy_unseen', { skip: notRoot }, () => {
  const t = setup('rdma.bpf.o');
  try {
    t.apply('aCreate', 'aInit', 'a2Create');
    assert.deepEqual(
      t.ended(0x11).map((s) => s.attributes['rdma.qp.end']),
      ['destroy_unseen'],
    );
    assert.equal(t.drops.n, 1);
    // the old QPN at that address in the map is not the new QP: the new one is the map's if its QPN is
    t.table.reconcile(userQpLiveness([qpObject(t.record('a2Create'))], () => true));
    t.table.drained();
    t.table.reconcile(userQpLiveness([qpObject(t.record('a2Create'))], () => true));
    assert.equal(t.ended(0x15).length, 0);
    t.table.reconcile(userQpLiveness([qpObject(t.record('aCreate'))], () => true));
    t.table.drained();
    t.table.reconcile(userQpLiveness([qpObject(t.record('aCreate'))], () => true));
    assert.deepEqual(
      t.ended(0x15).map((s) => s.attributes['rdma.qp.end']),
      ['destroy_unseen'],
      'same address, another QPN: not this QP',
    );
  } finally {
    t.close();
  }
});

test(
  'user path: a QP first seen at a modify starts its span there, marked untracked, and lives while its process does',
  { skip: notRoot },
  () => {
    const t = setup('rdma.bpf.o');
    try {
      t.apply('cRts');
      let running = true;
      for (let i = 0; i < 3; i++) {
        t.table.reconcile(userQpLiveness([], () => running));
        t.table.drained();
      }
      assert.equal(t.ended(0x13).length, 0, 'not in the map (older than kotel): kept while its process runs');
      running = false;
      t.table.reconcile(userQpLiveness([], () => running));
      t.table.drained();
      t.table.reconcile(userQpLiveness([], () => running));
      const [span] = t.ended(0x13);
      assert.equal(span?.attributes['rdma.qp.end'], 'process_exit');
      assert.equal(span.attributes['rdma.qp.untracked'], true);
      assert.equal(span.attributes['rdma.device'], 'mlx5_0', 'the modify record carries the device');
      assert.equal(span.attributes['rdma.qp.type'], 'rc');
      assert.equal(span.attributes['rdma.qp.state'], 'rts');
      assert.deepEqual(
        span.startTime,
        epochNsToHrTime(t.record('cRts').tsNs + t.table.offsetNs),
        'the span starts at the first record seen',
      );
      assert.equal(t.drops.n, 0, 'a process exit is no loss');
    } finally {
      t.close();
    }
  },
);

test(
  'user path: a QP first seen at a modify but found in the map (its create record was lost) ends when the map loses it',
  { skip: notRoot },
  () => {
    const t = setup('rdma.bpf.o');
    try {
      t.apply('dInit');
      t.table.reconcile(userQpLiveness([qpObject(t.record('dInit'))], () => true));
      t.table.reconcile(userQpLiveness([], () => true));
      t.table.drained();
      t.table.reconcile(userQpLiveness([], () => true));
      assert.deepEqual(
        t.ended(0x14).map((s) => s.attributes['rdma.qp.end']),
        ['destroy_unseen'],
        'its process still runs, but the kernel has no such QP',
      );
      assert.equal(t.drops.n, 1);
    } finally {
      t.close();
    }
  },
);

test('kernel path: QPs converge on rdma_objects (keyed by restrack entry) and on the netlink seeds', { skip: notRoot }, () => {
  const t = setup('rdma_kernel.bpf.o', SOURCE);
  try {
    t.apply('eRts', 'fCreate', 'gRts');
    // E existed before kotel: netlink listed it; F was created since (in the map, key tgid 0); G is a kernel
    // user's QP netlink did not list
    const seeds = new Seeds(undefined, [{ id: 0x42, type: 5, device: 'mlx5_1', tgid: 0, cgroupId: 0 }]);
    const f = qpObject(t.record('fCreate'), 0);
    const reconcile = (tracked: LiveObject[], alive = () => true) => {
      t.table.reconcile(kernelQpLiveness(tracked, seeds, alive));
      t.table.drained();
    };
    reconcile([f]);
    reconcile([f]);
    assert.equal(t.table.size, 3, 'all three live');
    seeds.remove('mlx5_1', 5, 0x42); // its delete reached rdma_gone; its destroy record was lost
    reconcile([]);
    reconcile([]);
    assert.deepEqual(
      t.ended(0x42).map((s) => s.attributes['rdma.qp.end']),
      ['destroy_unseen'],
    );
    assert.equal(t.ended(0x42)[0].attributes['rdma.qp.untracked'], true);
    assert.equal(t.ended(0x42)[0].attributes['rdma.qp.type'], 'rc', 'kernel modify records carry the QP type');
    assert.deepEqual(
      t.ended(0x43).map((s) => s.attributes['rdma.qp.end']),
      ['destroy_unseen'],
    );
    assert.equal(t.ended(0x43)[0].attributes['rdma.source'], 'ib_core');
    reconcile([], () => false);
    assert.equal(t.ended(0x44).length, 0, 'a kernel user (pid 0) netlink did not list: kept, nothing says it is gone');
    assert.equal(t.table.size, 1);
    assert.equal(t.drops.n, 2);
  } finally {
    t.close();
  }
});
