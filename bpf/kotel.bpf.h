/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Helpers shared by every family's BPF programs. Include after vmlinux.h and the libbpf headers. */
#ifndef KOTEL_BPF_H
#define KOTEL_BPF_H

#include "kotel.h"
#include "kotel_hist.bpf.h"

/* Makes a record type visible in the object's BTF so the addon can report its layout; costs a few bytes
 * of .rodata. */
#define KOTEL_EXPORT_TYPE(type, name) const volatile type kotel_layout_##name = {}

/* A per-cgroup counter or histogram map: per-CPU hash of struct kotel_cg_key -> value_type. Not
 * preallocated: a preallocated per-CPU hash reserves max x value size x CPUs up front (10240 x 6 KB x 64
 * CPUs = 4 GB per histogram map at scale 4) while only a few cgroups x kinds are ever used; entries are created
 * once per key and the hot path only looks up. */
#define KOTEL_CG_MAP(name, value_type, max)             \
	struct {                                        \
		__uint(type, BPF_MAP_TYPE_PERCPU_HASH); \
		__uint(max_entries, max);               \
		__uint(map_flags, BPF_F_NO_PREALLOC);   \
		__type(key, struct kotel_cg_key);       \
		__type(value, value_type);              \
	} name SEC(".maps")

/* Every family declares its drop counters with this. */
#define KOTEL_DROPS_MAP(name)                            \
	struct {                                         \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); \
		__uint(max_entries, KOTEL_DROP_REASONS); \
		__type(key, __u32);                      \
		__type(value, __u64);                    \
	} name SEC(".maps")

static __always_inline void kotel_count_drop(void *drops_map, __u32 reason)
{
	__u64 *n = bpf_map_lookup_elem(drops_map, &reason);
	if (n)
		*n += 1;
}

/* The tp_btf and raw_tp rungs of one tracepoint whose arguments both read alike (integers, or pointers
 * read with CO-RE): <tp>_btf and <tp>_raw, one body (BPF_PROG needs bpf_tracing.h). */
#define KOTEL_BTF_AND_RAW(tp, body, ...)    \
	SEC("tp_btf/" #tp)                  \
	int BPF_PROG(tp##_btf, __VA_ARGS__) \
	{                                   \
		return body;                \
	}                                   \
	SEC("raw_tp/" #tp)                  \
	int BPF_PROG(tp##_raw, __VA_ARGS__) \
	{                                   \
		return body;                \
	}

#define KOTEL_E2BIG 7 /* errno: a full map */

/* Why a map update that made no entry failed: a full map (E2BIG), else no memory (ENOMEM). */
static __always_inline __u32 kotel_update_drop(long err)
{
	return err == -KOTEL_E2BIG ? KOTEL_DROP_MAP_FULL : KOTEL_DROP_NO_MEMORY;
}

/* Submits a ring-buffer record without waking the consumer, which drains its ring on a short timer
 * (agent/src/kernel/ringConsumer.ts); once the ring is more than half full the consumer is woken at once, so
 * a burst is consumed before the ring overflows. One wakeup per half ring at most, instead of one per record
 * that finds the consumer idle (at 1M records/s in bursts of 100: 10 000 wakeups/s). */
static __always_inline void kotel_ringbuf_submit(void *ring, void *rec)
{
	__u64 avail = bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA);
	__u64 size = bpf_ringbuf_query(ring, BPF_RB_RING_SIZE);

	bpf_ringbuf_submit(rec, avail > size / 2 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

/* Adds v (ns) to the histogram of key (its chunk ignored) in a BPF_MAP_TYPE_PERCPU_HASH of struct
 * kotel_hist: to the entry of v's chunk, created when missing; an entry it could not make is counted in
 * drops_map. */
static __always_inline void kotel_hist_add(void *hist_map, const struct kotel_cg_key *key, __u64 v, void *drops_map)
{
	static const struct kotel_hist zero = {};
	struct kotel_cg_key k;
	struct kotel_hist *h;
	__u64 slot;
	long err;

	slot = kotel_hist_slot(v);
	k.cgroup_id = key->cgroup_id;
	k.kind = key->kind;
	k.chunk = slot / KOTEL_HIST_CHUNK_SLOTS;
	h = bpf_map_lookup_elem(hist_map, &k);
	if (!h) {
		err = bpf_map_update_elem(hist_map, &k, &zero, BPF_NOEXIST);
		h = bpf_map_lookup_elem(hist_map, &k); /* or another CPU made it first */
		if (!h) {
			kotel_count_drop(drops_map, err ? kotel_update_drop(err) : KOTEL_DROP_MAP_FULL);
			return;
		}
	}
	h->slots[slot % KOTEL_HIST_CHUNK_SLOTS] += 1;
	h->sum_ns += v;
}

/* Adds n to the u64 counter at key in a BPF_MAP_TYPE_PERCPU_HASH, creating it when missing. */
static __always_inline void kotel_counter_add(void *counter_map, struct kotel_cg_key *key, __u64 n, void *drops_map)
{
	__u64 *c = bpf_map_lookup_elem(counter_map, key);
	long err;

	if (c) {
		*c += n;
		return;
	}
	err = bpf_map_update_elem(counter_map, key, &n, BPF_NOEXIST);
	if (err) {
		c = bpf_map_lookup_elem(counter_map, key);
		if (c)
			*c += n; /* another CPU created it first */
		else
			kotel_count_drop(drops_map, kotel_update_drop(err));
	}
}

#endif
