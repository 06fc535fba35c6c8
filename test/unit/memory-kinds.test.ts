// The memory maps' kinds (bpf/memory.h) as attributes: every kind the BPF side writes, and one object per
// kind.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { compactionAttributes, faultAttributes, faultTypeAttributes, reclaimAttributes } from '../../agent/src/probes/memory/kinds';

test('each fault kind names its CPU mode and access', () => {
  const named = [0, 1, 2, 3, 4, 5].map((k) => [faultAttributes(k)['memory.fault.mode'], faultAttributes(k)['memory.fault.access']]);
  assert.deepEqual(named, [
    ['user', 'read'],
    ['kernel', 'read'],
    ['user', 'write'],
    ['kernel', 'write'],
    ['user', 'exec'],
    ['kernel', 'exec'],
  ]);
  assert.equal(faultAttributes(3), faultAttributes(3), 'one attributes object per kind');
  assert.equal(faultAttributes(7)['memory.fault.access'], 'access_3', 'a kind no BPF side writes is still named');
});

test("each fault type kind is OpenTelemetry's system.paging.fault.type", () => {
  assert.deepEqual(
    [0, 1].map((k) => faultTypeAttributes(k)),
    [{ 'system.paging.fault.type': 'minor' }, { 'system.paging.fault.type': 'major' }],
  );
  assert.equal(faultTypeAttributes(1), faultTypeAttributes(1));
});

test('each reclaim kind (enum mem_reclaim_kind) names what made the task reclaim', () => {
  assert.deepEqual(
    [0, 1, 2].map((k) => reclaimAttributes(k)['memory.reclaim.kind']),
    ['direct', 'memcg', 'kind_2'],
  );
  assert.equal(reclaimAttributes(1), reclaimAttributes(1));
});

test('each compaction kind (enum mem_compaction_kind) names who compacted', () => {
  assert.deepEqual(
    [0, 1, 2, 3].map((k) => compactionAttributes(k)['memory.compaction.kind']),
    ['direct', 'background', 'requested', 'kind_3'],
  );
  assert.equal(compactionAttributes(2), compactionAttributes(2));
});
