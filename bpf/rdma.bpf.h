/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* BPF-side helpers shared by the two RDMA objects (rdma.bpf.c, rdma_kernel.bpf.c). */
#ifndef KOTEL_RDMA_BPF_H
#define KOTEL_RDMA_BPF_H

/* QP records are submitted without waking the consumer, which drains the ring on a short timer
 * (agent/src/probes/rdma/qps.ts); once the ring is more than half full it is woken at once, so a burst is
 * consumed before the ring overflows. One wakeup per half ring instead of one per idle-to-busy edge. */
static __always_inline void rdma_ring_submit(void *ring, void *rec)
{
	__u64 avail = bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA);
	__u64 size = bpf_ringbuf_query(ring, BPF_RB_RING_SIZE);

	bpf_ringbuf_submit(rec, avail > size / 2 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

#endif
