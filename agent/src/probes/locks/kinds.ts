// Names for the kinds in the locks family's map keys and records (bpf/locks.h), as attribute values.
import type { Attributes } from '@opentelemetry/api';
import { ATTR } from '../../otel/semconv';
import { LOCKS_ATTR } from './semconv';
import { errnoName } from '../../kernel/errno';

const LCB_F_SPIN = 1;
const LCB_F_READ = 2;
const LCB_F_WRITE = 4;
const LCB_F_RT = 8;
const LCB_F_PERCPU = 16;
const LCB_F_MUTEX = 32;

/** lock:contention_begin flags (mutexes without LCB_F_SPIN, as the kernel side keys them) → lock.kind */
export function lockKindName(flags: number): string {
  const rw = flags & LCB_F_READ ? '_read' : flags & LCB_F_WRITE ? '_write' : '';
  if (flags & LCB_F_MUTEX) return flags & LCB_F_RT ? 'rt_mutex' : 'mutex';
  if (flags & LCB_F_PERCPU) return `percpu_rwsem${rw}`;
  if (flags & LCB_F_RT) return rw ? `rwlock_rt${rw}` : 'rt_mutex';
  if (flags & LCB_F_SPIN) return rw ? `rwlock${rw}` : 'spinlock';
  if (rw) return `rwsem${rw}`;
  // kernel/locking/semaphore.c passes no flags
  return flags === 0 ? 'semaphore' : `flags_0x${flags.toString(16)}`;
}

/** enum futex_kind (bpf/locks.h) → futex.op */
export const FUTEX_OP_NAMES: Record<number, string> = {
  0: 'wait',
  6: 'lock_pi',
  9: 'wait_bitset',
  11: 'wait_requeue_pi',
  13: 'lock_pi2',
  64: 'waitv',
  65: 'futex2_wait',
};

export function futexOpName(kind: number): string {
  return FUTEX_OP_NAMES[kind & 0xff] ?? `op_${kind & 0xff}`;
}

/** key kind of futex_wait_hist: op in the low byte, errno in bits 8..15 (255: larger errno) */
export function futexAttributes(kind: number): Attributes {
  const err = (kind >> 8) & 0xff;
  const attrs: Attributes = { [LOCKS_ATTR.futexOp]: futexOpName(kind) };
  // 11 is both EAGAIN and EWOULDBLOCK; futex(2) documents EAGAIN
  if (err) attrs[ATTR.errorType] = err === 255 ? '_OTHER' : err === 11 ? 'EAGAIN' : errnoName(err);
  return attrs;
}

/** enum lock_source (bpf/locks.h) */
export const LOCK_SOURCE_KERNEL = 1;
export const LOCK_SOURCE_FUTEX = 2;

/** enum lock_addr_class (bpf/locks.h) */
export const LOCK_CLASS_MMAP_LOCK = 1;
