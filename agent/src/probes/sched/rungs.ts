import type { AttachReport } from '../../native';

const TASK_STATE_PROBES = ['sched_wakeup', 'sched_wakeup_new', 'sched_switch'];

/** The tp_btf rungs keep per-task state in task storage, the others in a pid-keyed hash: a run-queue delay
 * needs its wakeup and its switch on the same side. Returns why the attached rungs disagree, or undefined. */
export function checkTaskStateRungs(attachments: AttachReport[]): string | undefined {
  const kinds = attachments.filter((a) => TASK_STATE_PROBES.includes(a.probe) && a.attached);
  const btf = kinds.filter((a) => a.kind === 'tp_btf');
  if (btf.length === 0 || btf.length === kinds.length) return undefined;
  const list = kinds.map((a) => `${a.probe}=${a.kind}`).join(', ');
  return `run-queue delay is incomplete: ${list} mix tp_btf with other hooks, so wakeups and switches keep per-task state in different maps; fix the hook that fell back (kotel probes says why)`;
}
