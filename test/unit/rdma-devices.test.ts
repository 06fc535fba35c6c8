// Device names and strings from a traced process's memory are hostile (any local user controls them; kotel
// runs as root): only devices sysfs lists become attributes or sysfs paths, reads are bounded and never
// block, each refused name is counted, and what reaches attributes and the terminal is printable.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { CgroupResolver } from '../../agent/src/host/cgroups';
import { OTHER_DEVICE, RdmaDevices } from '../../agent/src/probes/rdma/devices';
import { QP_EVENT } from '../../agent/src/probes/rdma/names';
import { QpTable, type QpEvent } from '../../agent/src/probes/rdma/qps';
import { printable } from '../../agent/src/kernel/record';
import { fakeSysfs } from '../helpers/sysfs';
import { tool } from '../helpers/tools';

const GID = 'fe80:0000:0000:0000:0200:0000:0000:0001';

test('device names: only devices sysfs lists; a crafted name is _OTHER, never a path, counted once', () => {
  const sysfs = fakeSysfs({ mlx5_0: { '1/0': GID } });
  const secret = path.join(sysfs.root, 'secret');
  fs.writeFileSync(secret, 'root-only\n');
  let refused = 0;
  try {
    const devices = new RdmaDevices(sysfs.root, () => refused++);
    assert.equal(devices.name('mlx5_0'), 'mlx5_0');
    assert.equal(devices.gid('mlx5_0', 1, 0), GID);
    for (const bad of ['../../secret', 'mlx5_0/../../../secret', '/etc/passwd', '..', 'mlx5_9', 'a'.repeat(64), 'mlx\x1b[2J', '']) {
      const name = devices.name(bad);
      if (bad === '') assert.equal(name, '', 'no device is no device');
      else assert.equal(name, OTHER_DEVICE, bad);
      assert.equal(devices.gid(bad, 1, 0), undefined, `no sysfs read for ${JSON.stringify(bad)}`);
    }
    assert.equal(refused, 7, 'each distinct refused name counted');
    devices.name('../../secret');
    assert.equal(refused, 7, 'a name refused before is not counted again');
    for (const [port, index] of [
      [0, 0],
      [256, 0],
      [1, -1],
      [1, 0x10000],
      [1.5, 0],
      [NaN, 0],
    ])
      assert.equal(devices.gid('mlx5_0', port, index), undefined, `port ${port} index ${index}`);
  } finally {
    sysfs.remove();
  }
});

test('a device that appears after start is known at the next listing (at most one a second)', () => {
  const sysfs = fakeSysfs({ mlx5_0: {} });
  let now = 0;
  let refused = 0;
  try {
    const devices = new RdmaDevices(
      sysfs.root,
      () => refused++,
      () => now,
    );
    assert.equal(devices.name('mlx5_0'), 'mlx5_0');
    fs.mkdirSync(path.join(sysfs.root, 'class', 'infiniband', 'rxe0'));
    now += 10;
    assert.equal(devices.name('rxe0'), OTHER_DEVICE, 'not listed again within the second');
    now += 1000;
    assert.equal(devices.name('rxe0'), 'rxe0');
  } finally {
    sysfs.remove();
  }
});

test('GID reads are bounded and never block: a FIFO, a huge file, garbage', () => {
  const sysfs = fakeSysfs({ mlx5_0: { '1/1': 'x'.repeat(1 << 20), '1/2': 'not a gid' } });
  const fifo = path.join(sysfs.root, 'class', 'infiniband', 'mlx5_0', 'ports', '1', 'gids', '0');
  execFileSync(tool('mkfifo'), [fifo]);
  try {
    const devices = new RdmaDevices(sysfs.root, () => assert.fail('mlx5_0 is a device'));
    devices.name('mlx5_0');
    assert.equal(devices.gid('mlx5_0', 1, 0), undefined, 'a FIFO with no writer: no wait');
    assert.equal(devices.gid('mlx5_0', 1, 1), undefined, '1 MiB: 64 bytes read, not a GID');
    assert.equal(devices.gid('mlx5_0', 1, 2), undefined);
  } finally {
    sysfs.remove();
  }
});

test('strings from traced memory are printable: controls, DEL, C1, bidi overrides escaped; UTF-8 kept', () => {
  assert.equal(printable(Buffer.from('trainer')), 'trainer');
  assert.equal(printable(Buffer.from('a\x1b[2Jb\nc\x7f')), 'a\\x1b[2Jb\\x0ac\\x7f');
  assert.equal(printable(Buffer.from('x\u202egnp.exe')), 'x\\u202egnp.exe');
  assert.equal(printable(Buffer.from('\u00c2\u0085')), '\u00c2\\x85');
  assert.equal(printable(Buffer.from('日本')), '日本');
  assert.equal(printable(Buffer.from([0x66, 0xff, 0x6f])), 'f\ufffdo', 'invalid UTF-8 as U+FFFD');
});

test('a QP whose device name is a path: its span says _OTHER and carries no file content', () => {
  const sysfs = fakeSysfs({ mlx5_0: { '1/0': GID } });
  // where ../../secret would lead from class/infiniband/<name>/ports/1/gids/0
  const gids = path.join(sysfs.root, 'secret', 'ports', '1', 'gids');
  fs.mkdirSync(gids, { recursive: true });
  fs.writeFileSync(path.join(gids, '0'), 'fe80:0000:0000:0000:0000:0000:dead:beef\n');
  let refused = 0;
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  try {
    const table = new QpTable(provider.getTracer('t'), new CgroupResolver(undefined), new RdmaDevices(sysfs.root, () => refused++), true);
    const ev = (kind: number, extra: Partial<QpEvent>): QpEvent => ({
      tsNs: 1n,
      cgroupId: 1,
      qp: 0x10n,
      tgid: 7,
      tid: 7,
      kind,
      qpn: 5,
      qpType: 2,
      state: 0,
      attrMask: 0,
      port: 1,
      comm: 'evil',
      device: '../../secret',
      ...extra,
    });
    table.apply(ev(QP_EVENT.create, {}));
    table.apply(ev(QP_EVENT.modify, { state: 2, attrMask: 0x1 | 0x80 | 0x100000, destQpn: 9, sgidIndex: 0, dgid: GID }));
    assert.equal(table.connections()[0].device, OTHER_DEVICE);
    assert.equal(table.connections()[0].srcGid, '?', 'no GID read through the crafted name');
    table.apply(ev(QP_EVENT.destroy, {}));
    const [span] = exporter.getFinishedSpans();
    assert.equal(span.attributes['rdma.device'], OTHER_DEVICE);
    assert.equal(span.attributes['rdma.src.gid'], undefined);
    assert.equal(refused, 1);
  } finally {
    sysfs.remove();
  }
});
