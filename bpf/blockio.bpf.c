// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Block I/O family: request latency (block_rq_issue -> block_rq_complete), queue time (block_rq_insert ->
 * block_rq_issue) and bytes, by disk, operation and cgroup. Maps: blockio.h.
 *
 * A request's cgroup is that of the task current at its first insert or issue: the submitter for direct
 * and synchronous I/O (the block layer inserts or issues in submit_bio), a kernel thread's (the root
 * cgroup) for page-cache writeback and for requests the block layer dispatches later from kblockd.
 * The tracepoints pass the struct request; tp_btf and raw_tp read it alike (CO-RE reads), so there is no
 * classic-tracepoint rung (its records have no request pointer to pair issue with completion). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "kotel.bpf.h"
#include "blockio.h"

#define REQ_OP_MASK 0xff

KOTEL_CG_MAP(block_rq_hist, struct kotel_hist, BLOCK_MAX_CGROUP_KEYS);
KOTEL_CG_MAP(block_queue_hist, struct kotel_hist, BLOCK_MAX_CGROUP_KEYS);
KOTEL_CG_MAP(block_bytes, __u64, BLOCK_MAX_CGROUP_KEYS);

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BLOCK_MAX_INFLIGHT);
	__type(key, __u64);
	__type(value, struct block_rq);
} block_inflight SEC(".maps");

KOTEL_DROPS_MAP(block_drops);

static __always_inline __u32 op_of(struct request *rq)
{
	__u32 op = BPF_CORE_READ(rq, cmd_flags) & REQ_OP_MASK;

	return op <= BLOCK_OP_DISCARD ? op : BLOCK_OP_OTHER; /* REQ_OP_READ .. REQ_OP_DISCARD are 0 .. 3 */
}

/* the request's kind; false: its disk's minor does not fit */
static __always_inline bool kind_of(struct request *rq, __u32 *kind)
{
	struct gendisk *disk = BPF_CORE_READ(rq, q, disk);
	__u32 major = BPF_CORE_READ(disk, major), minor = BPF_CORE_READ(disk, first_minor);

	if (minor > BLOCK_KIND_MINOR_MAX) {
		kotel_count_drop(&block_drops, KOTEL_DROP_INVALID_VALUE);
		return false;
	}
	*kind = op_of(rq) | minor << BLOCK_KIND_MINOR_SHIFT | major << BLOCK_KIND_MAJOR_SHIFT;
	return true;
}

/* the request's in-flight entry, made at its first insert or issue (an entry left by an earlier request
 * in the same struct, which the kernel allocates from a pool, is made over) */
static __always_inline struct block_rq *tracked(struct request *rq)
{
	__u64 key = (__u64)rq, alloc_ns = BPF_CORE_READ(rq, start_time_ns);
	struct block_rq *r = bpf_map_lookup_elem(&block_inflight, &key);
	struct block_rq fresh = { .alloc_ns = alloc_ns };

	if (r && r->alloc_ns == alloc_ns)
		return r;
	if (!kind_of(rq, &fresh.kind))
		return NULL;
	fresh.cgroup_id = bpf_get_current_cgroup_id();
	bpf_map_update_elem(&block_inflight, &key, &fresh, BPF_ANY); /* LRU: evicts, never full */
	r = bpf_map_lookup_elem(&block_inflight, &key);
	if (!r)
		kotel_count_drop(&block_drops, KOTEL_DROP_MAP_FULL);
	return r;
}

static __always_inline int on_insert(struct request *rq)
{
	struct block_rq *r = tracked(rq);

	if (r)
		r->insert_ns = bpf_ktime_get_ns();
	return 0;
}

static __always_inline int on_issue(struct request *rq)
{
	struct block_rq *r = tracked(rq);
	struct kotel_cg_key key = {};
	__u64 now = bpf_ktime_get_ns();

	if (!r)
		return 0;
	r->issue_ns = now;
	r->bytes = BPF_CORE_READ(rq, __data_len);
	if (r->insert_ns) {
		key.cgroup_id = r->cgroup_id;
		key.kind = r->kind;
		kotel_hist_add(&block_queue_hist, &key, now - r->insert_ns, &block_drops);
		r->insert_ns = 0;
	}
	return 0;
}

static __always_inline int on_complete(struct request *rq)
{
	__u64 rq_key = (__u64)rq;
	struct block_rq *r = bpf_map_lookup_elem(&block_inflight, &rq_key);
	struct kotel_cg_key key = {};

	/* none: issued before the program attached, or a partial completion after the first */
	if (!r || !r->issue_ns || r->alloc_ns != BPF_CORE_READ(rq, start_time_ns))
		return 0;
	key.cgroup_id = r->cgroup_id;
	key.kind = r->kind;
	kotel_hist_add(&block_rq_hist, &key, bpf_ktime_get_ns() - r->issue_ns, &block_drops);
	kotel_counter_add(&block_bytes, &key, r->bytes, &block_drops);
	bpf_map_delete_elem(&block_inflight, &rq_key);
	return 0;
}

KOTEL_BTF_AND_RAW(block_rq_insert, on_insert(rq), struct request *rq)
KOTEL_BTF_AND_RAW(block_rq_issue, on_issue(rq), struct request *rq)
KOTEL_BTF_AND_RAW(block_rq_complete, on_complete(rq), struct request *rq, blk_status_t error, unsigned int nr_bytes)

char LICENSE[] SEC("license") = "Dual BSD/GPL";
