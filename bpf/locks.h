/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Locks family ABI: maps and records shared by locks.bpf.c and agent/src/probes/locks/. */
#ifndef KOTEL_LOCKS_H
#define KOTEL_LOCKS_H

#include "kotel.h"

/* Per-cgroup maps (BPF_MAP_TYPE_PERCPU_HASH, key struct kotel_cg_key, value struct kotel_hist):
 *   lock_contention_hist  kernel lock waits, contention_begin (first one) -> contention_end of the same
 *                         task and lock, ns; kind = the first begin's LCB_F_* flags (LOCK_KIND_FLAGS),
 *                         with LCB_F_SPIN cleared for mutexes (optimistic spinning is part of the wait).
 *   futex_wait_hist       futex syscalls that can wait, entry -> exit, ns; kind = enum futex_kind in the
 *                         low byte, the error (errno, capped at 255) in bits 8..15, 0 on success.
 * Per-address map lock_addrs (BPF_MAP_TYPE_PERCPU_HASH, key __u64 lock address, value struct
 * lock_addr_stat): every contended kernel lock, for the top-locks report; the agent evicts cold entries.
 * Ring buffer lock_events: struct lock_wait_event, one per wait longer than targ_span_threshold_ns.
 * Drops: locks_drops (KOTEL_DROPS_MAP). */
#define LOCKS_MAX_CGROUP_KEYS 10240 /* per-cgroup maps: cgroups x kinds */
#define LOCKS_MAX_ADDRS 1024	    /* lock_addrs: distinct contended lock addresses kept at once */

/* lock:contention_begin flags (include/trace/events/lock.h; the tracepoint's print fmt names them). */
#define LCB_F_SPIN 1
#define LCB_F_READ 2
#define LCB_F_WRITE 4
#define LCB_F_RT 8
#define LCB_F_PERCPU 16
#define LCB_F_MUTEX 32
#define LOCK_KIND_FLAGS 63

/* What a wait was on, in struct lock_wait_event.source. */
enum lock_source {
	LOCK_SOURCE_KERNEL = 1, /* lock:contention_begin/end */
	LOCK_SOURCE_FUTEX = 2,	/* futex syscalls */
};

/* Futex waits: the futex(2) command (op & FUTEX_CMD_MASK) for the waiting commands, and the futex2 calls. */
enum futex_kind {
	FUTEX_KIND_WAIT = 0,		 /* FUTEX_WAIT */
	FUTEX_KIND_LOCK_PI = 6,		 /* FUTEX_LOCK_PI */
	FUTEX_KIND_WAIT_BITSET = 9,	 /* FUTEX_WAIT_BITSET */
	FUTEX_KIND_WAIT_REQUEUE_PI = 11, /* FUTEX_WAIT_REQUEUE_PI */
	FUTEX_KIND_LOCK_PI2 = 13,	 /* FUTEX_LOCK_PI2 */
	FUTEX_KIND_WAITV = 64,		 /* futex_waitv(2), Linux >= 5.16 */
	FUTEX_KIND_FUTEX2_WAIT = 65,	 /* futex_wait(2), Linux >= 6.7 */
};

/* Kind of an address in lock_addrs, found when the entry is created. */
enum lock_addr_class {
	LOCK_CLASS_UNKNOWN = 0,
	LOCK_CLASS_MMAP_LOCK = 1, /* the waiting task's mm->mmap_lock */
};

struct lock_addr_stat {
	__u64 count;   /* contentions (waits) on this address */
	__u64 wait_ns; /* their total wait */
	__u64 max_ns;  /* the longest one */
	__u32 flags;   /* LCB_F_* of the first wait seen */
	__u32 class;   /* enum lock_addr_class */
};

struct lock_wait_event {
	__u64 start_ns; /* CLOCK_MONOTONIC */
	__u64 end_ns;	/* CLOCK_MONOTONIC */
	__u64 cgroup_id;
	__u64 addr; /* kernel lock address, or the futex's user address */
	__u32 pid;  /* tgid */
	__u32 tid;
	__u32 source; /* enum lock_source */
	__u32 kind;   /* as in the histogram keys of that source */
	__u8 comm[16];
};

#endif
