// A series a reader saw goes to 0 when its objects are gone, however short its life (it may exist only
// between two maintenance ticks, as ibv_rc_pingpong's connection does), and is forgotten only at
// maintenance once its cgroup is removed.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { LingeringSeries } from '../../agent/src/probes/rdma/lingering';

type S = { cgroupId: number; n: number };
const zero = (s: S): S => ({ ...s, n: 0 });

test('a series reported once reports 0 after it is gone, until maintenance finds its cgroup removed', () => {
  const removed = new Set<number>();
  const lingering = new LingeringSeries<S>((id) => removed.has(id));
  assert.deepEqual([...lingering.report(new Map([['a', { cgroupId: 7, n: 2 }]]), zero)], [['a', { cgroupId: 7, n: 2 }]]);
  // gone before any maintenance tick
  assert.deepEqual([...lingering.report(new Map(), zero)], [['a', { cgroupId: 7, n: 0 }]]);
  lingering.prune();
  assert.deepEqual([...lingering.report(new Map(), zero)], [['a', { cgroupId: 7, n: 0 }]], 'cgroup still there: kept');
  removed.add(7);
  assert.deepEqual([...lingering.report(new Map(), zero)], [], 'cgroup removed: no zero reported');
  lingering.prune();
  removed.delete(7); // an id reused would not bring the old series back
  assert.deepEqual([...lingering.report(new Map(), zero)], []);
});
