/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* ABI shared by every family's BPF programs and the TypeScript decoders: fixed-width types, explicit
 * padding, no pointers. TypeScript reads sizes and offsets from the object's BTF, never hard-codes them. */
#ifndef KOTEL_H
#define KOTEL_H

/* Histogram on nanoseconds whose buckets are OpenTelemetry's base-2 exponential buckets of the value in
 * seconds, at a scale from 0 (one bucket per power of two) to KOTEL_HIST_MAX_SCALE (16 per power of two)
 * chosen at load (bpf/kotel_hist.bpf.h). Slot 0 counts v = 0; slot 1 + t counts OTel bucket index
 * t - offset(scale) (agent/src/kernel/exponentialBuckets.ts); values of 2^KOTEL_HIST_OCTAVES ns (3.26 days)
 * and more count in the last slot. A series' slots are kept in chunks of KOTEL_HIST_CHUNK_SLOTS, one map
 * entry (struct kotel_hist) per chunk in use, so a series costs what its values span, not every slot of the
 * scale on every possible CPU (770 slots = 6 KB per CPU at scale 4). */
#define KOTEL_HIST_OCTAVES 48
#define KOTEL_HIST_MAX_SCALE 4
#define KOTEL_HIST_MAX_SLOTS (2 + (KOTEL_HIST_OCTAVES << KOTEL_HIST_MAX_SCALE))
#define KOTEL_HIST_CHUNK_SLOTS 16

struct kotel_hist {
	__u64 sum_ns; /* sum of the values counted in this chunk, ns; count is the sum of slots */
	__u64 slots[KOTEL_HIST_CHUNK_SLOTS]; /* slots 16 chunk .. 16 chunk + 15 */
};

/* Key of every per-cgroup counter and histogram map: the cgroup v2 id (inode number of the cgroup2
 * directory), a small family-defined kind (documented next to the map in <family>.h) and, in a histogram
 * map, the chunk of slots the entry holds (counters: 0). */
struct kotel_cg_key {
	__u64 cgroup_id;
	__u32 kind;
	__u32 chunk;
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
