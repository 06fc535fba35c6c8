// One `lock.wait` span per single wait longer than families.locks.spanThresholdMs, from the
// lock_wait_event records of the lock_events ring buffer (kernel lock waits and futex waits alike). The
// threshold keeps the rate low; records arrive in batches, and one that cannot be decoded is counted as a
// drop, never thrown.
import type { Attributes } from '@opentelemetry/api';
import { monotonicOffsetNs, monotonicToHrTime } from '../../host/clock';
import { LOCKS, LOCKS_ATTR } from './semconv';
import { RecordReader } from '../../kernel/record';
import { consumeRing } from '../../kernel/ringConsumer';
import type { FamilyContext, FamilyRuntime } from '../types';
import type { KernelSymbols } from './kallsyms';
import { futexAttributes, LOCK_SOURCE_FUTEX, lockKindName } from './kinds';

const FIELDS = ['start_ns', 'end_ns', 'cgroup_id', 'addr', 'pid', 'tid', 'source', 'kind', 'comm'] as const;

export function startWaitSpans(ctx: FamilyContext, symbols: () => KernelSymbols): FamilyRuntime {
  const layout = ctx.object.layout('lock_wait_event');
  const r = new RecordReader(layout, FIELDS, 'lock_wait_event');
  return consumeRing(ctx, { ring: 'lock_events', family: 'locks', recordSize: layout.size }, (batch) => {
    const offset = monotonicOffsetNs();
    return (base) => {
      const kind = r.u32(batch, base, 'kind');
      const addr = r.big64(batch, base, 'addr');
      const futex = r.u32(batch, base, 'source') === LOCK_SOURCE_FUTEX;
      const attributes: Attributes = {
        ...ctx.cgroups.attributes(r.u64(batch, base, 'cgroup_id')),
        'process.pid': r.u32(batch, base, 'pid'),
        'thread.id': r.u32(batch, base, 'tid'),
        'process.executable.name': r.str(batch, base, 'comm'),
        [LOCKS_ATTR.address]: `0x${addr.toString(16)}`,
        ...(futex
          ? { [LOCKS_ATTR.kind]: 'futex', ...futexAttributes(kind) }
          : { [LOCKS_ATTR.kind]: lockKindName(kind), [LOCKS_ATTR.symbol]: symbols().resolve(addr) }),
      };
      const span = ctx.tracer.startSpan(LOCKS.span, { startTime: monotonicToHrTime(r.big64(batch, base, 'start_ns'), offset), attributes });
      span.end(monotonicToHrTime(r.big64(batch, base, 'end_ns'), offset));
    };
  });
}
