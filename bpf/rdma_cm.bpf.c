// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* RDMA connection-manager family: the rdma_cma tracepoints (module rdma_cm) counted per cgroup and event,
 * for rdma.cm.events. Its own object, apart from rdma_kernel.bpf.c, so it loads when rdma_cm appears,
 * which is often after ib_core. Maps: rdma_cm.h. Programs: cm_<event>_btf / _raw / _tp. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "kotel.bpf.h"
#include "rdma_cm.h"

KOTEL_CG_MAP(rdma_cm_events, __u64, RDMA_CM_MAX_CGROUP_KEYS);
KOTEL_DROPS_MAP(rdma_cm_drops);

static __always_inline void count_event(__u32 kind)
{
	struct kotel_cg_key key = { .cgroup_id = bpf_get_current_cgroup_id(), .kind = kind };

	kotel_counter_add(&rdma_cm_events, &key, 1, &rdma_cm_drops);
}

/* ---- counted by event (tp_btf -> raw_tp -> tracepoint) ---- */

#define CM_EVENT(name, ev)            \
	SEC("tp_btf/cm_" #name)       \
	int BPF_PROG(cm_##name##_btf) \
	{                             \
		count_event(ev);      \
		return 0;             \
	}                             \
	SEC("raw_tp/cm_" #name)       \
	int BPF_PROG(cm_##name##_raw) \
	{                             \
		count_event(ev);      \
		return 0;             \
	}                             \
	SEC("tp/rdma_cma/cm_" #name)  \
	int cm_##name##_tp(void *ctx) \
	{                             \
		count_event(ev);      \
		return 0;             \
	}

CM_EVENT(send_req, RDMA_CM_SEND_REQ)
CM_EVENT(send_rep, RDMA_CM_SEND_REP)
CM_EVENT(send_rtu, RDMA_CM_SEND_RTU)
CM_EVENT(send_rej, RDMA_CM_SEND_REJ)
CM_EVENT(disconnect, RDMA_CM_DISCONNECT)
CM_EVENT(qp_destroy, RDMA_CM_QP_DESTROY)
CM_EVENT(id_destroy, RDMA_CM_ID_DESTROY)

/* cm_qp_create(id_priv, pd, qp_init_attr, rc): failures by errno */
static __always_inline void cm_qp_create(int rc)
{
	__u32 err = rc < 0 ? (__u32)-rc & 0xffff : 0;

	count_event(RDMA_CM_QP_CREATE | err << 8);
}

SEC("tp_btf/cm_qp_create")
int BPF_PROG(cm_qp_create_btf, void *id_priv, void *pd, void *init_attr, int rc)
{
	cm_qp_create(rc);
	return 0;
}

SEC("raw_tp/cm_qp_create")
int BPF_PROG(cm_qp_create_raw, void *id_priv, void *pd, void *init_attr, int rc)
{
	cm_qp_create(rc);
	return 0;
}

/* the tracefs record of cm_qp_create: TP_STRUCT__entry after the 8-byte common header */
struct cm_qp_create_rec {
	__u64 common;
	__u32 cm_id, pd_id, tos, qp_num, send_wr, recv_wr;
	int rc;
};

SEC("tp/rdma_cma/cm_qp_create")
int cm_qp_create_tp(struct cm_qp_create_rec *ctx)
{
	cm_qp_create(ctx->rc);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
