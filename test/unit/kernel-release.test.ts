// Which kernels get preallocated hash maps (tracing programs with run-time allocated ones warn on 5.7-6.0
// and are refused on PREEMPT_RT there), read from release strings of the distributions users run.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { kernelVersion, needsPreallocatedHashMaps } from '../../agent/src/host/kernelRelease';

test('kernel releases before 6.1 preallocate, 6.1 and later do not', () => {
  assert.deepEqual(kernelVersion('5.14.0-362.8.1.el9_3.x86_64'), [5, 14]);
  for (const r of ['5.15.0-91-generic', '5.14.0-362.el9.x86_64', '5.10.0-28-amd64', '6.0.19-rt11', '4.19.0-26-amd64'])
    assert.equal(needsPreallocatedHashMaps(r), true, r);
  for (const r of ['6.1.0-50-amd64', '6.1.0-50-rt-amd64', '6.12.117+deb12-amd64', '6.18.44-fc-v1045', '7.0.0'])
    assert.equal(needsPreallocatedHashMaps(r), false, r);
  assert.equal(needsPreallocatedHashMaps('weird'), false, 'unparsable: the kernel decides');
});
