// The blockio family's map kinds (bpf/blockio.h: op | minor << 3 | major << 20) as attributes.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { blockAttributesOf, diskName, splitBlockKind } from '../../agent/src/probes/blockio/devices';

test('a kind is the operation, the minor and the major of the disk', () => {
  assert.deepEqual(splitBlockKind(1 | (0 << 3) | (254 << 20)), { op: 'write', minor: 0, major: 254 });
  assert.deepEqual(splitBlockKind(3 | (16 << 3) | (8 << 20)), { op: 'discard', minor: 16, major: 8 });
  assert.deepEqual(splitBlockKind(4 | (0x1ffff << 3) | (4095 << 20)), { op: 'other', minor: 0x1ffff, major: 4095 });
  assert.equal(splitBlockKind(2).op, 'flush');
  assert.equal(splitBlockKind(0).op, 'read');
});

test('a disk is named as /sys/block names it, read once; one gone since keeps major:minor', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kotel-blk-'));
  try {
    fs.symlinkSync('../../devices/pci0000:00/0000:00:02.0/virtio1/block/vda', path.join(dir, '254:0'));
    fs.symlinkSync('../../devices/pci0000:00/0000:00:04.0/nvme/nvme0/nvme0n1', path.join(dir, '259:0'));
    assert.equal(diskName(254, 0, dir), 'vda');
    assert.equal(diskName(259, 0, dir), 'nvme0n1');
    assert.equal(diskName(8, 0, dir), undefined);

    const reads: string[] = [];
    const attributes = blockAttributesOf((major, minor) => (reads.push(`${major}:${minor}`), diskName(major, minor, dir)));
    assert.deepEqual(attributes(1 | (254 << 20)), { 'block.device': 'vda', 'block.operation': 'write' });
    assert.deepEqual(attributes(0 | (254 << 20)), { 'block.device': 'vda', 'block.operation': 'read' });
    assert.deepEqual(attributes(0 | (8 << 20)), { 'block.device': '8:0', 'block.operation': 'read' });
    assert.deepEqual(reads, ['254:0', '8:0']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
