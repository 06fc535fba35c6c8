/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the two RDMA objects (rdma.bpf.c, rdma_kernel.bpf.c) share: the record types, the maps they fill
 * the same way (so agent/src/probes/rdma decodes either), and helpers. Include after kotel.bpf.h and rdma.h. */
#ifndef KOTEL_RDMA_BPF_H
#define KOTEL_RDMA_BPF_H

KOTEL_EXPORT_TYPE(struct rdma_qp_event, rdma_qp_event);
KOTEL_EXPORT_TYPE(struct rdma_object, rdma_object);
KOTEL_EXPORT_TYPE(struct rdma_object_key, rdma_object_key);

KOTEL_CG_MAP(rdma_qp_transitions, __u64, RDMA_MAX_CGROUP_KEYS);
KOTEL_CG_MAP(rdma_untracked, __u64, RDMA_MAX_CGROUP_KEYS);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RDMA_MAX_OBJECTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct rdma_object_key);
	__type(value, struct rdma_object);
} rdma_objects SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024); /* families.rdma.ringBufferBytes */
} rdma_events SEC(".maps");

KOTEL_DROPS_MAP(rdma_drops);

static __always_inline void count(void *map, __u32 kind)
{
	struct kotel_cg_key key = { .cgroup_id = bpf_get_current_cgroup_id(), .kind = kind };

	kotel_counter_add(map, &key, 1, &rdma_drops);
}

#endif
