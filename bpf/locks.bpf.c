// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Locks family: kernel lock contention (lock:contention_begin/end) and user-space lock waits (futex
 * syscalls), aggregated per cgroup in log2 histograms; contended kernel lock addresses for the top-locks
 * report; optional records of single waits above a threshold. Maps and records: locks.h.
 *
 * Each probe has a ladder <probe>_btf (tp_btf) / <probe>_raw (raw_tp) / <probe>_tp (classic tracepoint).
 * The futex probes hook the generic sys_enter/sys_exit tracepoints and filter by syscall number: the
 * syscalls:sys_enter_futex events are built on the same hook (every syscall of every task goes through it
 * once any syscall tracepoint is on), so the generic one costs no more and needs no tracefs.
 *
 * The pending wait of a task lives in task storage (freed with the task, so a thread killed while it waits
 * leaves nothing behind). A mutex can fire several contention_begin (optimistic spinning, then sleeping)
 * before one contention_end: the first begin's time and flags are kept, as perf lock contention does; an
 * end for another lock (a nested contention in an interrupt) or without a begin is ignored.
 *
 * An end can be missed: an interrupt's contention_end while this CPU runs the contention_end program is
 * skipped by the kernel (counted as the program's recursion miss, exported as bpf_recursion), and the
 * interrupt's begin, recorded, stays pending. A spinning wait cannot outlast a context switch of its task,
 * so a spinning wait still pending after one is such a leftover: the next begin replaces it. The loader
 * attaches each end before its begin, so no begin is recorded whose end was not yet watched. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "kotel.bpf.h"
#include "locks.h"
#include "futex_syscalls.bpf.h"

#define EINTR 4
#define E2BIG 7
#define ERESTARTSYS 512
#define ERESTART_RESTARTBLOCK 516

/* Knobs, set by the loader before load; the verifier prunes whatever they switch off. */
const volatile bool targ_contention = true;	 /* lock_contention_hist */
const volatile bool targ_futex = true;		 /* futex_wait_hist */
const volatile bool targ_top_locks = true;	 /* lock_addrs */
const volatile __u64 targ_span_threshold_ns = 0; /* lock_wait_event for longer waits; 0: none */

KOTEL_EXPORT_TYPE(struct lock_wait_event, lock_wait_event);
KOTEL_EXPORT_TYPE(struct lock_addr_stat, lock_addr_stat);

KOTEL_CG_MAP(lock_contention_hist, struct kotel_hist, LOCKS_MAX_CGROUP_KEYS);
KOTEL_CG_MAP(futex_wait_hist, struct kotel_hist, LOCKS_MAX_CGROUP_KEYS);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, LOCKS_MAX_ADDRS);
	__type(key, __u64);
	__type(value, struct lock_addr_stat);
} lock_addrs SEC(".maps");

struct lock_task_state {
	__u64 lock_start; /* 0: no kernel lock wait pending */
	__u64 lock_addr;
	__u64 futex_start; /* 0: no futex wait pending */
	__u64 futex_uaddr;
	__u64 lock_switches; /* the task's context switches when lock_start was set */
	__u32 lock_flags;
	__u32 futex_kind;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct lock_task_state);
} lock_task SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} lock_events SEC(".maps");

KOTEL_DROPS_MAP(locks_drops);

static __always_inline struct lock_task_state *task_state(bool create)
{
	return bpf_task_storage_get(&lock_task, bpf_get_current_task_btf(), 0,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

/* bpf_get_current_cgroup_id() without the helper call: plain loads through the trusted current task. */
static __always_inline __u64 current_cgroup_id(void)
{
	return bpf_get_current_task_btf()->cgroups->dfl_cgrp->kn->id;
}

static __always_inline void emit_wait(__u64 start, __u64 end, __u64 cgroup_id, __u64 addr, __u32 source, __u32 kind)
{
	struct lock_wait_event *e;
	__u64 pid_tgid;

	e = bpf_ringbuf_reserve(&lock_events, sizeof(*e), 0);
	if (!e) {
		kotel_count_drop(&locks_drops, KOTEL_DROP_RINGBUF_FULL);
		return;
	}
	pid_tgid = bpf_get_current_pid_tgid();
	e->start_ns = start;
	e->end_ns = end;
	e->cgroup_id = cgroup_id;
	e->addr = addr;
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->source = source;
	e->kind = kind;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	kotel_ringbuf_submit(&lock_events, e);
}

/* ---- kernel locks: lock:contention_begin / lock:contention_end ---- */

static __always_inline __u64 context_switches(void)
{
	struct task_struct *t = bpf_get_current_task_btf();

	return t->nvcsw + t->nivcsw;
}

/* raw spinlocks and (non-RT) rwlocks: the waiter spins with preemption off; mutexes spin, then sleep */
static __always_inline bool spinning_wait(__u32 flags)
{
	return (flags & LCB_F_SPIN) && !(flags & LCB_F_MUTEX);
}

static __always_inline int on_contention_begin(void *lock, __u32 flags)
{
	struct lock_task_state *s;
	__u64 switches;

	if (!targ_contention)
		return 0;
	s = task_state(true);
	if (!s) {
		kotel_count_drop(&locks_drops, KOTEL_DROP_TASK_STORAGE);
		return 0;
	}
	switches = context_switches();
	/* already waiting: keep the first begin, unless it is a spinning wait whose end was missed */
	if (s->lock_start && !(spinning_wait(s->lock_flags) && s->lock_switches != switches)) {
		kotel_count_drop(&locks_drops, KOTEL_DROP_NESTED);
		return 0;
	}
	s->lock_addr = (__u64)(unsigned long)lock;
	s->lock_flags = flags;
	s->lock_switches = switches;
	s->lock_start = bpf_ktime_get_ns();
	return 0;
}

/* the address of the current task's mm->mmap_lock, 0 without one */
static __always_inline __u64 current_mmap_lock(void)
{
	struct mm_struct *mm = bpf_get_current_task_btf()->mm;

	if (!mm || !bpf_core_field_exists(mm->mmap_lock))
		return 0;
	return (__u64)(unsigned long)mm + bpf_core_field_offset(struct mm_struct, mmap_lock);
}

static __always_inline __u32 addr_class(__u64 addr)
{
	__u64 lock = current_mmap_lock();

	return lock && addr == lock ? LOCK_CLASS_MMAP_LOCK : LOCK_CLASS_UNKNOWN;
}

/* PREEMPT_RT builds rw_semaphore on rwbase_rt: a writer first takes the rtmutex inside it, a contention of
 * its own at that address (LCB_F_RT, before the rwbase's). Flavors for CO-RE: they exist only on RT. */
struct rt_mutex_base___kotel {
	int _unused;
} __attribute__((preserve_access_index));
struct rwbase_rt___kotel {
	struct rt_mutex_base___kotel rtmutex;
} __attribute__((preserve_access_index));
struct rw_semaphore___kotel_rt {
	struct rwbase_rt___kotel rwbase;
} __attribute__((preserve_access_index));

/* the waiting task's mmap_lock when addr is the rtmutex inside it (RT), else addr: one top-locks entry */
static __always_inline __u64 rt_rwsem_of(__u64 addr)
{
	__u64 lock;

	if (!bpf_core_field_exists(struct rw_semaphore___kotel_rt, rwbase))
		return addr;
	lock = current_mmap_lock();
	if (lock && addr == lock + bpf_core_field_offset(struct rw_semaphore___kotel_rt, rwbase) +
				bpf_core_field_offset(struct rwbase_rt___kotel, rtmutex))
		return lock;
	return addr;
}

static __always_inline void addr_stat_add(__u64 addr, __u64 wait, __u32 flags)
{
	struct lock_addr_stat *st;

	addr = rt_rwsem_of(addr);
	st = bpf_map_lookup_elem(&lock_addrs, &addr);

	if (!st) {
		struct lock_addr_stat init = { .flags = flags, .class = addr_class(addr) };
		long ret = bpf_map_update_elem(&lock_addrs, &addr, &init, BPF_NOEXIST);

		st = ret == -E2BIG ? NULL : bpf_map_lookup_elem(&lock_addrs, &addr); /* full: no second lookup */
		if (!st) {
			kotel_count_drop(&locks_drops, KOTEL_DROP_MAP_FULL);
			return;
		}
	}
	st->count += 1;
	st->wait_ns += wait;
	if (wait > st->max_ns)
		st->max_ns = wait;
}

static __always_inline int on_contention_end(void *lock)
{
	struct kotel_cg_key key = {};
	struct lock_task_state *s;
	__u64 now, start, addr = (__u64)(unsigned long)lock;
	__u32 flags;

	if (!targ_contention)
		return 0;
	s = task_state(false);
	if (!s || !s->lock_start || s->lock_addr != addr)
		return 0;
	now = bpf_ktime_get_ns();
	start = s->lock_start;
	flags = s->lock_flags & LOCK_KIND_FLAGS;
	s->lock_start = 0;
	if (flags & LCB_F_MUTEX)
		flags &= ~LCB_F_SPIN;

	key.cgroup_id = current_cgroup_id();
	key.kind = flags;
	kotel_hist_add(&lock_contention_hist, &key, now - start, &locks_drops);
	if (targ_top_locks)
		addr_stat_add(addr, now - start, flags);
	if (targ_span_threshold_ns && now - start >= targ_span_threshold_ns)
		emit_wait(start, now, key.cgroup_id, addr, LOCK_SOURCE_KERNEL, flags);
	return 0;
}

SEC("tp_btf/contention_begin")
int BPF_PROG(contention_begin_btf, void *lock, unsigned int flags)
{
	return on_contention_begin(lock, flags);
}

SEC("raw_tp/contention_begin")
int BPF_PROG(contention_begin_raw, void *lock, unsigned int flags)
{
	return on_contention_begin(lock, flags);
}

SEC("tp/lock/contention_begin")
int contention_begin_tp(struct trace_event_raw_contention_begin *ctx)
{
	return on_contention_begin(ctx->lock_addr, ctx->flags);
}

SEC("tp_btf/contention_end")
int BPF_PROG(contention_end_btf, void *lock, int ret)
{
	return on_contention_end(lock);
}

SEC("raw_tp/contention_end")
int BPF_PROG(contention_end_raw, void *lock, int ret)
{
	return on_contention_end(lock);
}

SEC("tp/lock/contention_end")
int contention_end_tp(struct trace_event_raw_contention_end *ctx)
{
	return on_contention_end(ctx->lock_addr);
}

/* ---- user-space lock waits: futex syscalls ---- */

static __always_inline int on_futex_enter(long id, __u64 op, __u64 uaddr)
{
	struct lock_task_state *s;
	int kind;

	if (!targ_futex || id < 0)
		return 0;
	kind = futex_kind(id, op);
	if (kind < 0)
		return 0;
	s = task_state(true);
	if (!s) {
		kotel_count_drop(&locks_drops, KOTEL_DROP_TASK_STORAGE);
		return 0;
	}
	s->futex_kind = kind;
	s->futex_uaddr = uaddr;
	s->futex_start = bpf_ktime_get_ns();
	return 0;
}

static __always_inline int on_futex_exit(long id, long ret)
{
	struct kotel_cg_key key = {};
	struct lock_task_state *s;
	__u64 now, start;
	__u32 err = 0;

	if (!targ_futex || id < 0)
		return 0;
	s = task_state(false);
	if (!s || !s->futex_start)
		return 0;
	now = bpf_ktime_get_ns();
	start = s->futex_start;
	s->futex_start = 0;
	if (ret < 0) {
		err = -ret;
		if (err >= ERESTARTSYS && err <= ERESTART_RESTARTBLOCK) /* a signal interrupted the wait */
			err = EINTR;
		else if (err > 255)
			err = 255;
	}
	key.cgroup_id = current_cgroup_id();
	key.kind = s->futex_kind | (err << 8);
	kotel_hist_add(&futex_wait_hist, &key, now - start, &locks_drops);
	if (targ_span_threshold_ns && now - start >= targ_span_threshold_ns)
		emit_wait(start, now, key.cgroup_id, s->futex_uaddr, LOCK_SOURCE_FUTEX, key.kind);
	return 0;
}

/* x86_64 syscall arguments: di, si, dx, r10, r8, r9; orig_ax holds the syscall number at exit. */
SEC("tp_btf/sys_enter")
int BPF_PROG(futex_enter_btf, struct pt_regs *regs, long id)
{
	id = futex_nr(id);
	if (id < 0)
		return 0;
	if (ia32_syscall())
		return on_futex_enter(id, regs->cx, regs->bx);
	return on_futex_enter(id, regs->si, regs->di);
}

SEC("raw_tp/sys_enter")
int BPF_PROG(futex_enter_raw, struct pt_regs *regs, long id)
{
	id = futex_nr(id);
	if (id < 0)
		return 0;
	if (ia32_syscall())
		return on_futex_enter(id, BPF_CORE_READ(regs, cx), BPF_CORE_READ(regs, bx));
	return on_futex_enter(id, BPF_CORE_READ(regs, si), BPF_CORE_READ(regs, di));
}

SEC("tp/raw_syscalls/sys_enter")
int futex_enter_tp(struct trace_event_raw_sys_enter *ctx)
{
	long id = futex_nr(ctx->id);

	if (id < 0)
		return 0;
	/* args[] are the syscall's arguments whatever its ABI (syscall_get_arguments) */
	return on_futex_enter(id, ctx->args[1], ctx->args[0]);
}

/* tp_btf arguments are BTF pointers: a plain load (the verifier makes it a fault-safe one) costs less than
 * the bpf_probe_read_kernel call of BPF_CORE_READ, and sys_exit runs on every syscall. */
SEC("tp_btf/sys_exit")
int BPF_PROG(futex_exit_btf, struct pt_regs *regs, long ret)
{
	return on_futex_exit(futex_nr(regs->orig_ax), ret);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(futex_exit_raw, struct pt_regs *regs, long ret)
{
	return on_futex_exit(futex_nr(BPF_CORE_READ(regs, orig_ax)), ret);
}

SEC("tp/raw_syscalls/sys_exit")
int futex_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return on_futex_exit(futex_nr(ctx->id), ctx->ret);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
