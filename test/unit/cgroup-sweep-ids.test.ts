// The cgroup sweep deletes the map entries of cgroups that are gone, and never cgroup 0's: what the kernel
// itself does (kernel RDMA users, interrupts with no task) counts there for as long as kotel runs. The map
// and the cgroup tree are stand-ins here (test/integration/cgroup-sweep.test.ts sweeps real maps).
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import pino from 'pino';
import type { CgroupResolver } from '../../agent/src/host/cgroups';
import type { BpfObject, MapBatch } from '../../agent/src/native';
import { CgroupSweep } from '../../agent/src/probes/cgroupSweep';
import type { LoadedFamily } from '../../agent/src/probes/load';
import type { Family } from '../../agent/src/probes/types';

test('entries of a removed cgroup go at the second sweep; cgroup 0 stays', () => {
  const ids = new Set([0, 1, 99]);
  const object = {
    layout: () => ({ size: 16, fields: { cgroup_id: { offset: 0, size: 8 }, kind: { offset: 8, size: 4 } } }),
    mapInfo: () => ({ keySize: 16 }),
    readMap: (): MapBatch => {
      const keys = Buffer.alloc(16 * ids.size);
      [...ids].forEach((id, i) => keys.writeBigUInt64LE(BigInt(id), i * 16));
      return { count: ids.size, keys, values: Buffer.alloc(0), valueStride: 8 };
    },
    deleteKeys: (_map: string, keys: Buffer, count: number) => {
      for (let i = 0; i < count; i++) ids.delete(Number(keys.readBigUInt64LE(i * 16)));
      return count;
    },
  } as unknown as BpfObject;
  const family = { kernelMetrics: [{ map: 'c' }] } as unknown as Family;
  const live = new Set([1]); // cgroup 99 was removed; 0 is no cgroup at all
  const cgroups = {
    mount: '/sys/fs/cgroup',
    scan: () => undefined,
    exists: (id: number) => live.has(id),
    forget: () => undefined,
  } as unknown as CgroupResolver;
  const sweep = new CgroupSweep([{ family, object } as LoadedFamily], cgroups, pino({ level: 'silent' }));
  assert.equal(sweep.run(), 0, 'first sweep only marks');
  assert.equal(sweep.run(), 1, 'second sweep deletes cgroup 99');
  assert.deepEqual([...ids].sort(), [0, 1]);
  assert.equal(sweep.run(), 0);
  assert.deepEqual([...ids].sort(), [0, 1], 'cgroup 0 is never swept');
});
