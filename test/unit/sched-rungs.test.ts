// The scheduler family's per-task state lives in task storage on tp_btf and in a pid hash elsewhere: the
// agent must notice when the ladders of its three tracepoints settled on different sides.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import type { AttachReport, HookKind } from '../../agent/src/native';
import { checkTaskStateRungs } from '../../agent/src/probes/sched/rungs';

const report = (probe: string, kind: HookKind | undefined): AttachReport => ({
  probe,
  attached: kind !== undefined,
  kind,
  program: kind && `${probe}_x`,
  failures: [],
});

test('consistent rungs pass, mixed tp_btf and raw_tp are named', () => {
  const probes = ['sched_wakeup', 'sched_wakeup_new', 'sched_switch'];
  assert.equal(checkTaskStateRungs(probes.map((p) => report(p, 'tp_btf'))), undefined);
  assert.equal(checkTaskStateRungs(probes.map((p) => report(p, 'raw_tp'))), undefined);
  assert.equal(
    checkTaskStateRungs([...probes.map((p) => report(p, 'tp')), report('sched_migrate_task', 'tp_btf')]),
    undefined,
    'migrations keep no task state',
  );
  const mixed = checkTaskStateRungs([
    report('sched_wakeup', 'tp_btf'),
    report('sched_wakeup_new', 'tp_btf'),
    report('sched_switch', 'raw_tp'),
  ]);
  assert.match(mixed ?? '', /sched_switch=raw_tp/);
  assert.match(mixed ?? '', /kotel probes/);
});
