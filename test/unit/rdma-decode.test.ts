// RDMA QP-event records written by the host C compiler from bpf/rdma.h, decoded with the field offsets the
// real rdma.bpf.o reports from its BTF, then fed to the QP table with a real tracer and an in-memory span
// exporter: spans, transitions, the connection tuple and the console table. Opening the object needs root.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { test } from 'node:test';
import { runC } from '../helpers/cbuild';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { CgroupResolver } from '../../agent/src/host/cgroups';
import { BpfObject } from '../../agent/src/native';
import { connectionTable } from '../../agent/src/probes/rdma/connectionTable';
import { formatGid, verbCallAttributes } from '../../agent/src/probes/rdma/names';
import { countObjects } from '../../agent/src/probes/rdma/objects';
import { makeQpEventDecoder, QpTable } from '../../agent/src/probes/rdma/qps';
import { RdmaDevices } from '../../agent/src/probes/rdma/devices';
import { fakeSysfs } from '../helpers/sysfs';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const notRoot = process.getuid?.() !== 0 ? 'opening a BPF object needs root' : false;

/** a QP's life from C: create, INIT (port 1), RTR (dest QPN 0x100001, dest GID), RTS, destroy */
function recordsFromC(): Buffer {
  return runC(`
#include <linux/types.h>
#include <stdio.h>
#include <string.h>
#include "rdma.h"
int main(void) {
  struct rdma_qp_event e[5];
  unsigned char dgid[16] = {0xfe,0x80,0,0,0,0,0,0,2,0,0,0,0,0,0,2};
  memset(e, 0, sizeof(e));
  for (int i = 0; i < 5; i++) {
    e[i].ts_ns = 1000 + i; e[i].cgroup_id = 4242; e[i].qp = 0x5555aaaa0000ULL; e[i].tgid = 777; e[i].tid = 778;
    e[i].qpn = 0x1234; strcpy((char *)e[i].comm, "trainer");
  }
  e[0].kind = RDMA_QP_CREATE; e[0].qp_type = 2; strcpy((char *)e[0].device, "mlx5_0");
  e[1].kind = RDMA_QP_MODIFY; e[1].state = 1; e[1].attr_mask = 1 | 16 | 32 | 8; e[1].port = 1;
  e[2].kind = RDMA_QP_MODIFY; e[2].state = 2; e[2].attr_mask = 1 | 128 | (1 << 20); /* STATE | AV | DEST_QPN */ e[2].dest_qpn = 0x100001;
  e[2].port = 1; e[2].is_global = 1; e[2].sgid_index = 3; memcpy(e[2].dgid, dgid, 16);
  e[3].kind = RDMA_QP_MODIFY; e[3].state = 3; e[3].attr_mask = 1;
  e[4].kind = RDMA_QP_DESTROY; e[4].state = 3;
  fwrite(e, sizeof(e), 1, stdout);
  return 0;
}`);
}

test('verb-call keys map to rdma.verb and error.type', () => {
  assert.deepEqual(verbCallAttributes(9), { 'rdma.verb': 'create_qp' });
  assert.deepEqual(verbCallAttributes(10 | (22 << 8)), { 'rdma.verb': 'modify_qp', 'error.type': 'EINVAL' });
  assert.deepEqual(verbCallAttributes(3 | (0xffff << 8)), { 'rdma.verb': 'alloc_pd', 'error.type': '_OTHER' });
});

test('GIDs print as sysfs does; live objects count by cgroup, device and type', () => {
  assert.equal(formatGid(Buffer.from('fe800000000000000200000000000001', 'hex')), 'fe80:0000:0000:0000:0200:0000:0000:0001');
  const counts = countObjects([
    { tgid: 1, cgroupId: 5, type: 5, device: 'mlx5_0' },
    { tgid: 2, cgroupId: 5, type: 5, device: 'mlx5_0' },
    { tgid: 2, cgroupId: 5, type: 5, device: 'mlx5_1' },
    { tgid: 2, cgroupId: 6, type: 2, device: 'mlx5_0' },
  ]);
  assert.deepEqual(counts.map((c) => `${c.cgroupId}/${c.device}/${c.type}=${c.n}`).sort(), [
    '5/mlx5_0/5=2',
    '5/mlx5_1/5=1',
    '6/mlx5_0/2=1',
  ]);
});

test('QP events from C decode with the BTF layout of rdma.bpf.o into one span with the tuple', { skip: notRoot }, () => {
  const object = BpfObject.open(path.join(ROOT, 'bpf', '.output', 'rdma.bpf.o'), { ladders: {} });
  let sysfs: ReturnType<typeof fakeSysfs> | undefined;
  try {
    const layout = object.layout('rdma_qp_event');
    const buf = recordsFromC();
    assert.equal(buf.length, 5 * layout.size, 'C sizeof matches the BTF size');
    const decode = makeQpEventDecoder(layout);
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const cgroups = new CgroupResolver(undefined);
    // the source GID is read from sysfs at the sgid index (3)
    sysfs = fakeSysfs({ mlx5_0: { '1/3': 'fe80:0000:0000:0000:0200:0000:0000:0001', '1/0': 'fe80:0000:0000:0000:0200:0000:0000:00ff' } });
    const table = new QpTable(provider.getTracer('t'), cgroups, new RdmaDevices(sysfs.root, () => assert.fail('mlx5_0 is a device')), true);
    const rtr = decode(buf, 2 * layout.size);
    assert.equal(rtr.destQpn, 0x100001);
    assert.equal(rtr.dgid, 'fe80:0000:0000:0000:0200:0000:0000:0002');
    assert.equal(rtr.sgidIndex, 3);
    for (let i = 0; i < 4; i++) table.apply(decode(buf, i * layout.size));
    const conns = table.connections();
    assert.equal(conns.length, 1);
    assert.deepEqual(
      { ...conns[0] },
      {
        device: 'mlx5_0',
        srcGid: 'fe80:0000:0000:0000:0200:0000:0000:0001',
        srcQpn: 0x1234,
        dstGid: 'fe80:0000:0000:0000:0200:0000:0000:0002',
        dstQpn: 0x100001,
        pid: 777,
        comm: 'trainer',
        cgroupId: 4242,
        state: 'rts',
      },
    );
    const lines = connectionTable(conns, cgroups);
    assert.equal(lines[0], 'RDMA connections: 1 live');
    assert.match(lines[2], /mlx5_0 +fe80:0000:0000:0000:0200:0000:0000:0001\/4660 +fe80:.*:0002\/1048577 +rts +777 trainer +cgroup:4242/);
    assert.equal(exporter.getFinishedSpans().length, 0, 'the span is open while the QP lives');
    table.apply(decode(buf, 4 * layout.size));
    const [span] = exporter.getFinishedSpans();
    assert.equal(span.name, 'rdma.qp');
    assert.equal(span.attributes['rdma.src.qp_num'], 0x1234);
    assert.equal(span.attributes['rdma.dst.qp_num'], 0x100001);
    assert.equal(span.attributes['rdma.qp.type'], 'rc');
    assert.equal(span.attributes['rdma.qp.end'], 'destroy');
    assert.equal(span.attributes['process.pid'], 777);
    assert.equal(span.attributes['thread.id'], 778);
    assert.deepEqual(
      span.events.map((e) => e.attributes?.['rdma.qp.state']),
      ['init', 'rtr', 'rts'],
    );
    assert.equal(table.connections().length, 0);
  } finally {
    object.close();
    sysfs?.remove();
  }
});
