/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* ABI shared by every family's BPF programs and the TypeScript decoders: fixed-width types, explicit
 * padding, no pointers. TypeScript reads sizes and offsets from the object's BTF, never hard-codes them. */
#ifndef KOTEL_H
#define KOTEL_H

/* Histogram on nanoseconds whose buckets are OpenTelemetry's base-2 exponential buckets of the value in
 * seconds, at a scale from 0 (one bucket per power of two) to KOTEL_HIST_MAX_SCALE (16 per power of two)
 * chosen at load (bpf/kotel_hist.bpf.h). slots[0] counts v = 0; slots[1 + t] counts OTel bucket index
 * t - offset(scale) (agent/src/kernel/exponentialBuckets.ts); values of 2^KOTEL_HIST_OCTAVES ns (3.26 days)
 * and more count in the last slot. The loader shrinks the map value to the slots the scale uses. */
#define KOTEL_HIST_OCTAVES 48
#define KOTEL_HIST_MAX_SCALE 4
#define KOTEL_HIST_MAX_SLOTS (2 + (KOTEL_HIST_OCTAVES << KOTEL_HIST_MAX_SCALE))

struct kotel_hist {
	__u64 sum_ns; /* sum of recorded values, ns; count is the sum of slots */
	__u64 slots[KOTEL_HIST_MAX_SLOTS];
};

/* Key of every per-cgroup counter and histogram map: the cgroup v2 id (inode number of the cgroup2
 * directory) and a small family-defined kind (documented next to the map in <family>.h). */
struct kotel_cg_key {
	__u64 cgroup_id;
	__u32 kind;
	__u32 _pad;
};

/* Indices of every family's <family>_drops per-CPU array: events lost in the kernel, exported as
 * kotel.events.dropped. */
enum kotel_drop_reason {
	KOTEL_DROP_RINGBUF_FULL = 0,  /* bpf_ringbuf_reserve failed: user space fell behind */
	KOTEL_DROP_MAP_FULL = 1,      /* a hash map hit max_entries: raise its size in the config */
	KOTEL_DROP_TASK_STORAGE = 2,  /* bpf_task_storage_get could not create: busy on this CPU (another BPF
				       * program holds it, before 6.2 also any nested one) or out of memory */
	KOTEL_DROP_NESTED = 3,	      /* a lock contention inside another of the same task's waits (an interrupt,
				       * or the wait-queue spinlock of a sleeping lock's slow path): not timed */
	KOTEL_DROP_NO_MEMORY = 4,     /* a per-cgroup map entry could not be made for want of memory: the BPF
				       * memory allocator's per-CPU caches, refilled asynchronously, were empty */
	KOTEL_DROP_INVALID_VALUE = 5, /* a value the map key has no room for (an IRQ number over 65535) */
	KOTEL_DROP_REASONS = 6,
};

#endif
