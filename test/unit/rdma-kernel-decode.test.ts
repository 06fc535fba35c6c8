// The RDMA kernel path (bpf/rdma_kernel.bpf.c) cannot attach here (no ib_core), so its decoding and
// mapping are tested on records written by the host C compiler from bpf/rdma_kernel.h, decoded with the
// field offsets the real rdma_kernel.bpf.o reports from its BTF, and fed to the same QP table and object
// counting as the user path. Also: ib_core detection, kprobe target resolution, netlink seeding.
import { strict as assert } from 'node:assert';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { runC } from '../helpers/cbuild';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { CgroupResolver } from '../../agent/src/host/cgroups';
import { BpfObject } from '../../agent/src/native';
import { ibCoreUnavailable, kprobeTarget, rdmaCmUnavailable, type HostFiles } from '../../agent/src/probes/rdma/ibCore';
import { kernelLadders, SOURCE } from '../../agent/src/probes/rdma/kernel';
import { Seeds } from '../../agent/src/probes/rdma/seed';
import { cmEventAttributes } from '../../agent/src/probes/rdma/names';
import { countObjects } from '../../agent/src/probes/rdma/objects';
import { makeQpEventDecoder, QpTable } from '../../agent/src/probes/rdma/qps';
import { RdmaDevices } from '../../agent/src/probes/rdma/devices';
import { fakeSysfs } from '../helpers/sysfs';
import { RecordReader } from '../../agent/src/kernel/record';
import { parseResources, seedFromNetlink } from '../../agent/src/probes/rdma/seed';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const notRoot = process.getuid?.() !== 0 ? 'opening a BPF object needs root' : false;

function host(files: Record<string, string>): HostFiles {
  return { exists: (p) => p in files, read: (p) => files[p] };
}

/** what rdma_kernel.bpf.c writes for a kernel-verbs QP (NVMe-oF target, say): create at restrack add,
 * RTR with the destination at _ib_modify_qp, destroy at restrack del; then a gone key */
function recordsFromC(): Buffer {
  return runC(`
#include <linux/types.h>
#include <stdio.h>
#include <string.h>
#include "rdma_kernel.h"
int main(void) {
  struct rdma_qp_event e[3];
  struct rdma_gone_key g;
  unsigned char dgid[16] = {0,0,0,0,0,0,0,0,0,0,0xff,0xff,10,0,0,7};
  memset(e, 0, sizeof(e));
  for (int i = 0; i < 3; i++) {
    e[i].ts_ns = 5000 + i; e[i].cgroup_id = 1; e[i].qp = 0xffff888012345678ULL; e[i].tgid = 0; e[i].tid = 99;
    e[i].qpn = 0x42; strcpy((char *)e[i].comm, "kworker/u8:1");
  }
  e[0].kind = RDMA_QP_CREATE; e[0].qp_type = 2; strcpy((char *)e[0].device, "mlx5_1");
  e[1].kind = RDMA_QP_MODIFY; e[1].state = 2; e[1].attr_mask = IB_QP_STATE_BIT | IB_QP_AV_BIT | IB_QP_DEST_QPN_BIT;
  e[1].dest_qpn = 0x77; e[1].port = 1; e[1].is_global = 1; e[1].sgid_index = 1; memcpy(e[1].dgid, dgid, 16);
  strcpy((char *)e[1].device, "mlx5_1");
  e[2].kind = RDMA_QP_DESTROY;
  memset(&g, 0, sizeof(g)); g.type = RDMA_RES_CM_ID; g.id = 12; strcpy((char *)g.device, "mlx5_1");
  fwrite(e, sizeof(e), 1, stdout);
  fwrite(&g, sizeof(g), 1, stdout);
  return 0;
}`);
}

test('ib_core and rdma_cm detection names the reason in words', () => {
  assert.equal(
    ibCoreUnavailable(host({ '/proc/config.gz': '# CONFIG_INFINIBAND is not set\n' }))?.reason,
    'ib_core not loaded: no RDMA in this kernel (CONFIG_INFINIBAND off)',
  );
  assert.match(ibCoreUnavailable(host({ '/proc/config.gz': 'CONFIG_INFINIBAND=m\n' }))?.reason ?? '', /modprobe ib_core/);
  assert.match(
    ibCoreUnavailable(host({ '/sys/module/ib_core': '', '/sys/kernel/btf/vmlinux': '' }))?.reason ?? '',
    /CONFIG_DEBUG_INFO_BTF_MODULES/,
  );
  assert.equal(ibCoreUnavailable(host({ '/sys/module/ib_core': '', '/sys/kernel/btf/ib_core': '' }))?.reason, undefined);
  assert.equal(
    rdmaCmUnavailable(host({ '/proc/config.gz': 'CONFIG_INFINIBAND=m\n', '/sys/module/ib_core': '' }))?.reason,
    'rdma_cm not loaded: `modprobe rdma_cm` (rdma_ucm loads it for librdmacm users)',
  );
  const dep = `/lib/modules/${os.release()}/modules.dep`;
  assert.match(
    rdmaCmUnavailable(host({ [dep]: 'kernel/drivers/infiniband/core/rdma_cm.ko.xz: kernel/drivers/infiniband/core/iw_cm.ko.xz\n' }))
      ?.reason ?? '',
    /^rdma_cm not loaded: `modprobe rdma_cm`/,
    'no kernel config, but modules.dep lists it',
  );
  assert.match(rdmaCmUnavailable(host({}))?.reason ?? '', /no RDMA on this host/);
  assert.match(
    rdmaCmUnavailable(host({ '/sys/module/rdma_cm': '', '/sys/kernel/btf/vmlinux': '' }))?.reason ?? '',
    /^rdma_cm has no BTF .*CONFIG_DEBUG_INFO_BTF_MODULES/,
  );
  assert.equal(rdmaCmUnavailable(host({ '/sys/module/rdma_cm': '', '/sys/kernel/btf/rdma_cm': '' }))?.reason, undefined);
  // error.type of kotel.probe.attached
  assert.equal(ibCoreUnavailable(host({ '/proc/config.gz': '# CONFIG_INFINIBAND is not set\n' }))?.code, 'no_rdma');
  assert.equal(rdmaCmUnavailable(host({ [dep]: 'kernel/drivers/infiniband/core/rdma_cm.ko: \n' }))?.code, 'module_not_loaded');
  assert.equal(rdmaCmUnavailable(host({ '/sys/module/rdma_cm': '', '/sys/kernel/btf/vmlinux': '' }))?.code, 'module_without_btf');
});

test('kprobe targets: the plain name, else a .constprop clone; never an .isra clone', () => {
  const ks = (...names: string[]) => names.map((n) => `ffffffffc0a00000 t ${n}\t[ib_core]`).join('\n');
  assert.equal(kprobeTarget('_ib_modify_qp', ks('_ib_modify_qp')), '_ib_modify_qp');
  assert.equal(kprobeTarget('_ib_modify_qp', ks('_ib_modify_qp.constprop.0')), '_ib_modify_qp.constprop.0');
  assert.equal(kprobeTarget('_ib_modify_qp', ks('_ib_modify_qp.isra.0')), undefined);
  assert.equal(kprobeTarget('_ib_modify_qp', ks('ib_modify_qp')), undefined);
  const ladders = kernelLadders(ks('rdma_restrack_add', 'rdma_restrack_del', '_ib_modify_qp.constprop.0'));
  assert.deepEqual(
    ladders._ib_modify_qp.map((r) => `${r.kind}:${r.program}@${r.target}`),
    ['fexit:modify_qp_fexit@_ib_modify_qp', 'kretprobe:modify_qp_kret@_ib_modify_qp.constprop.0'],
  );
  assert.deepEqual(
    ladders['_ib_modify_qp:entry'].map((r) => r.target),
    ['_ib_modify_qp.constprop.0'],
  );
  assert.deepEqual(
    ladders.rdma_restrack_add.map((r) => r.kind),
    ['fexit', 'kprobe'],
  );
  assert.equal(ladders.rdma_restrack_commit_del, undefined, 'no two-phase delete in this kernel');
  assert.ok(Object.keys(ladders).indexOf('rdma_restrack_del') < Object.keys(ladders).indexOf('rdma_restrack_add'), 'deletes attach first');
  const twoPhase = kernelLadders(ks('rdma_restrack_add', 'rdma_restrack_del', 'rdma_restrack_commit_del', '_ib_modify_qp'));
  assert.deepEqual(
    twoPhase.rdma_restrack_commit_del.map((r) => `${r.kind}:${r.program}@${r.target}`),
    ['fentry:restrack_commit_del_fentry@rdma_restrack_commit_del', 'kprobe:restrack_commit_del_kprobe@rdma_restrack_commit_del'],
  );
  assert.ok(
    Object.keys(twoPhase).indexOf('rdma_restrack_commit_del') < Object.keys(twoPhase).indexOf('rdma_restrack_add'),
    'deletes attach first',
  );
});

test('rdma_cma event keys map to rdma.cm.event and error.type', () => {
  assert.deepEqual(cmEventAttributes(1), { 'rdma.cm.event': 'send_req' });
  assert.deepEqual(cmEventAttributes(6 | (12 << 8)), { 'rdma.cm.event': 'qp_create', 'error.type': 'ENOMEM' });
});

test('netlink seeds: parsed from `rdma -j resource show`, dropped when deleted or tracked by the kernel map', async () => {
  const json = JSON.stringify([
    { ifindex: 0, ifname: 'mlx5_0', port: 1, lqpn: 1, type: 'GSI', state: 'RTS', comm: '[ib_core]' },
    { ifindex: 0, ifname: 'mlx5_0', port: 1, lqpn: 0x1a5, type: 'RC', state: 'RTS', pid: 4242, comm: 'ib_write_bw' },
  ]);
  const objs = parseResources(json, 5, 'lqpn', (pid) => (pid === 4242 ? 77 : 1));
  assert.deepEqual(
    objs.map((o) => `${o.device}/${o.type}/${o.id}/cg${o.cgroupId}`),
    ['mlx5_0/5/1/cg1', 'mlx5_0/5/421/cg77'],
  );
  const seeds = new Seeds(undefined, objs);
  assert.equal(
    seeds.live([{ tgid: 0, cgroupId: 77, type: 5, device: 'mlx5_0', handle: 421 }]).length,
    1,
    'tracked by the map: not counted twice',
  );
  seeds.remove('mlx5_0', 5, 1);
  assert.equal(seeds.live([]).length, 0);
  const none = await seedFromNetlink(
    () => 0,
    () => {
      throw Object.assign(new Error('exit 1'), { stderr: 'Failed to open NETLINK_RDMA socket\n' });
    },
  );
  assert.deepEqual(none, { ok: false, reason: 'rdma resource show ctx: Failed to open NETLINK_RDMA socket' });
});

test('kernel QP records from C decode with the BTF layout of rdma_kernel.bpf.o into one ib_core span', { skip: notRoot }, () => {
  const object = BpfObject.open(path.join(ROOT, 'bpf', '.output', 'rdma_kernel.bpf.o'), { ladders: {} });
  const sysfs = fakeSysfs({ mlx5_1: { '1/1': '0000:0000:0000:0000:0000:ffff:0a00:0001' } });
  try {
    const layout = object.layout('rdma_qp_event');
    const goneLayout = object.layout('rdma_gone_key');
    const buf = recordsFromC();
    assert.equal(buf.length, 3 * layout.size + goneLayout.size, 'C sizeof matches the BTF sizes');
    const decode = makeQpEventDecoder(layout);
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    // the source GID from sysfs at the sgid index (1)
    const table = new QpTable(
      provider.getTracer('t'),
      new CgroupResolver(undefined),
      new RdmaDevices(sysfs.root, () => assert.fail('mlx5_1 is a device')),
      true,
      SOURCE,
    );
    for (let i = 0; i < 2; i++) table.apply(decode(buf, i * layout.size));
    const [conn] = table.connections();
    assert.deepEqual(
      { ...conn },
      {
        device: 'mlx5_1',
        srcGid: '0000:0000:0000:0000:0000:ffff:0a00:0001',
        srcQpn: 0x42,
        dstGid: '0000:0000:0000:0000:0000:ffff:0a00:0007',
        dstQpn: 0x77,
        pid: 0,
        comm: 'kworker/u8:1',
        cgroupId: 1,
        state: 'rtr',
      },
    );
    table.apply(decode(buf, 2 * layout.size));
    const spans = exporter.getFinishedSpans();
    assert.equal(spans.length, 1);
    assert.equal(spans[0].attributes['rdma.source'], 'ib_core');
    assert.equal(spans[0].attributes['rdma.qp.type'], 'rc');
    assert.equal(spans[0].attributes['rdma.dst.qp_num'], 0x77);
    assert.equal(spans[0].attributes['rdma.qp.end'], 'destroy');
    assert.deepEqual(
      spans[0].events.map((e) => e.attributes?.['rdma.qp.state']),
      ['rtr'],
    );
    const gone = new RecordReader(goneLayout, ['type', 'id', 'device'] as const, 'rdma_gone_key');
    const at = 3 * layout.size;
    assert.deepEqual([gone.u32(buf, at, 'type'), gone.u32(buf, at, 'id'), gone.str(buf, at, 'device')], [7, 12, 'mlx5_1']);
    const objKey = object.layout('rdma_object_key');
    assert.equal(object.mapInfo('rdma_objects').keySize, objKey.size, 'same object map shape as the user path');
    assert.deepEqual(
      countObjects([{ tgid: 0, cgroupId: 1, type: 7, device: 'mlx5_1' }]).map((c) => c.n),
      [1],
    );
  } finally {
    object.close();
    sysfs.remove();
  }
});
