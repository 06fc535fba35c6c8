// families.locks.* in the config schema (the registry gathers the families' fragments for agent/src/config/schema.ts).
import { fragment } from '../../config/spec';

export const locksConfig = fragment({
  enabled: {
    doc: 'Attach the lock probes: kernel lock contention and futex (user-space lock) wait times.',
    format: 'bool',
    default: true,
  },
  contention: {
    doc: 'Kernel lock contention (lock:contention_begin/end): wait-time histograms by lock kind, and the most contended locks.',
    format: 'bool',
    default: true,
  },
  futex: {
    doc: 'Futex (user-space lock) wait times. Off by default: hooking sys_enter/sys_exit sends every syscall of the host through the kernel syscall-tracing path (~+300 ns per syscall on the reference VM).',
    format: 'bool',
    default: false,
  },
  spanThresholdMs: {
    doc: 'Emit a lock.wait span for every single kernel-lock or futex wait at least this long; 0: no spans (ms).',
    format: 'ms',
    min: 0,
    default: 0,
  },
  spanSampling: {
    doc: 'Share of lock.wait spans exported (0-1, by trace id); the others are counted in kotel.spans.sampled_out, so totals stay exact.',
    format: 'ratio',
    default: 1,
  },
  topLocks: {
    doc: 'Most contended kernel locks exported (lock.contention.top.wait) and shown in the console report; 0: do not track lock addresses.',
    format: 'int',
    min: 0,
    default: 10,
  },
  maxLockAddresses: {
    doc: 'Contended kernel lock addresses tracked at once (the agent evicts cold ones when 3/4 full); more are counted as map_full drops.',
    format: 'int',
    min: 16,
    default: 1024,
  },
  maxCgroupKeys: {
    doc: 'Distinct (cgroup, kind) keys the lock histograms are kept for (size of the per-cgroup maps).',
    format: 'int',
    min: 1,
    default: 10240,
  },
});
