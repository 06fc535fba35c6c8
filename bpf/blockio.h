/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Block I/O family ABI: maps shared by blockio.bpf.c and agent/src/probes/blockio/. */
#ifndef KOTEL_BLOCKIO_H
#define KOTEL_BLOCKIO_H

#include "kotel.h"

/* Per-cgroup maps (BPF_MAP_TYPE_PERCPU_HASH, key struct kotel_cg_key), by the cgroup that issued the
 * request (see blockio.bpf.c), kind = op | minor << 3 | major << 20 of the disk (not the partition):
 *   block_rq_hist     value struct kotel_hist. Issue (to the driver) -> completion, ns.
 *   block_queue_hist  value struct kotel_hist. Insert (into the I/O scheduler) -> issue, ns: only requests
 *                     that were queued (a request issued directly has no insert).
 *   block_bytes       value __u64: bytes of the completed requests.
 * In flight: block_inflight (LRU hash, key the struct request pointer, value struct block_rq); an entry
 * whose request the kernel ended without block_rq_complete (the flush machinery's) is replaced when the
 * struct is reused for another request (a new start_time_ns), or ages out.
 * Drops: block_drops (KOTEL_DROPS_MAP); a minor over 2^17 - 1 is KOTEL_DROP_INVALID_VALUE. */
#define BLOCK_MAX_CGROUP_KEYS 10240 /* cgroups x disks x ops */
#define BLOCK_MAX_INFLIGHT 16384    /* requests in flight at once, every disk */
#define BLOCK_KIND_MINOR_SHIFT 3
#define BLOCK_KIND_MAJOR_SHIFT 20
#define BLOCK_KIND_MINOR_MAX ((1U << (BLOCK_KIND_MAJOR_SHIFT - BLOCK_KIND_MINOR_SHIFT)) - 1)

enum block_op {
	BLOCK_OP_READ = 0,
	BLOCK_OP_WRITE = 1,
	BLOCK_OP_FLUSH = 2,
	BLOCK_OP_DISCARD = 3,
	BLOCK_OP_OTHER = 4, /* write-zeroes, zone management, driver-private */
};

struct block_rq {
	__u64 alloc_ns;	 /* the request's start_time_ns: struct requests are reused, this tells their lives apart */
	__u64 insert_ns; /* CLOCK_MONOTONIC at block_rq_insert; 0: issued directly */
	__u64 issue_ns;	 /* at block_rq_issue (the last one, if requeued); 0: not issued yet */
	__u64 cgroup_id;
	__u32 kind;
	__u32 bytes; /* the request's size at issue */
};

#endif
