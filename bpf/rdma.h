/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* RDMA family ABI (user-space verbs path): maps and records shared by rdma.bpf.c and agent/src/probes/rdma/.
 *
 * Per-cgroup maps (BPF_MAP_TYPE_PERCPU_HASH, key struct kotel_cg_key, value __u64):
 *   rdma_verb_calls     verb calls; kind = enum rdma_verb | error << 8, error = 0 on success, else the errno
 *                       the verb returned, or RDMA_ERR_UNKNOWN when it returned NULL or -1 (the error is then
 *                       in the caller's thread-local errno, which BPF cannot read).
 *   rdma_qp_transitions successful ibv_modify_qp calls that set a state; kind = the new enum ibv_qp_state.
 *   rdma_untracked      successful destroys of objects kotel never saw created (they existed before the
 *                       agent attached); kind = enum rdma_resource. Live counts never go below zero for them.
 * Live objects (BPF_MAP_TYPE_HASH, key struct rdma_object_key, value struct rdma_object):
 *   rdma_objects        every PD, CQ, MR, QP and device context created since the agent attached and not yet
 *                       destroyed; user space counts them by (cgroup, device, type) and removes the entries of
 *                       processes that exited without destroying them (the kernel frees those).
 * Ring buffer rdma_events: struct rdma_qp_event, one per QP create, state-changing modify and destroy.
 * Per-thread call state (BPF_MAP_TYPE_HASH, key struct rdma_call_key): rdma_calls, entry -> return.
 * Drops: rdma_drops (KOTEL_DROPS_MAP). */
#ifndef KOTEL_RDMA_H
#define KOTEL_RDMA_H

#include "kotel.h"

#define RDMA_MAX_CGROUP_KEYS 10240 /* per-cgroup maps: cgroups x kinds */
#define RDMA_MAX_OBJECTS 262144	   /* rdma_objects: live verbs objects tracked at once */
#define RDMA_MAX_CALLS 16384	   /* rdma_calls: threads inside a hooked verb at once */
#define RDMA_DEVICE_NAME_LEN 64	   /* IBV_SYSFS_NAME_MAX */
#define RDMA_ERR_UNKNOWN 0xffff	   /* a failure whose errno BPF cannot see */

enum rdma_verb {
	RDMA_VERB_OPEN_DEVICE = 1,
	RDMA_VERB_CLOSE_DEVICE = 2,
	RDMA_VERB_ALLOC_PD = 3,
	RDMA_VERB_DEALLOC_PD = 4,
	RDMA_VERB_CREATE_CQ = 5,
	RDMA_VERB_DESTROY_CQ = 6,
	RDMA_VERB_REG_MR = 7,
	RDMA_VERB_DEREG_MR = 8,
	RDMA_VERB_CREATE_QP = 9,
	RDMA_VERB_MODIFY_QP = 10,
	RDMA_VERB_DESTROY_QP = 11,
	RDMA_VERB_QUERY_GID = 12,
};

enum rdma_resource {
	RDMA_RES_CONTEXT = 1,
	RDMA_RES_PD = 2,
	RDMA_RES_CQ = 3,
	RDMA_RES_MR = 4,
	RDMA_RES_QP = 5,
};

enum rdma_qp_event_kind {
	RDMA_QP_CREATE = 1,
	RDMA_QP_MODIFY = 2,
	RDMA_QP_DESTROY = 3,
};

struct rdma_call_key {
	__u32 tid;
	__u32 verb; /* enum rdma_verb */
};

/* Arguments saved at entry for the return probe. */
struct rdma_call {
	__u64 arg0; /* the object (or context / PD / device) pointer */
	__u64 arg1; /* ibv_modify_qp: attr pointer */
	__u32 arg2; /* ibv_modify_qp: attr mask */
	__u32 qpn;  /* ibv_destroy_qp: qp_num read at entry */
};

struct rdma_object_key {
	__u32 tgid;
	__u32 _pad;
	__u64 ptr; /* the object's address in the process */
};

struct rdma_object {
	__u64 cgroup_id;
	__u32 type;   /* enum rdma_resource */
	__u32 handle; /* the kernel handle (ibv_pd.handle, ...); QPs: qp_num */
	__u8 device[RDMA_DEVICE_NAME_LEN];
};

struct rdma_qp_event {
	__u64 ts_ns; /* CLOCK_MONOTONIC */
	__u64 cgroup_id;
	__u64 qp; /* the ibv_qp address in the process (kernel path: its rdma_restrack_entry's); the
			  * QP's key in rdma_objects */
	__u32 tgid;
	__u32 tid;
	__u32 kind; /* enum rdma_qp_event_kind */
	__u32 qpn;
	__u32 qp_type;	  /* enum ibv_qp_type */
	__u32 state;	  /* modify: the new state; create/destroy: the QP's state */
	__u32 attr_mask;  /* modify: the ibv_qp_attr_mask */
	__u32 dest_qpn;	  /* valid when attr_mask has IBV_QP_DEST_QPN */
	__u32 port;	  /* ah_attr.port_num (IBV_QP_AV) or port_num (IBV_QP_PORT); 0 if neither */
	__u32 sgid_index; /* ah_attr.grh.sgid_index, valid when is_global */
	__u32 is_global;  /* ah_attr.is_global, valid when attr_mask has IBV_QP_AV */
	__u32 _pad;
	__u8 dgid[16]; /* ah_attr.grh.dgid, valid when is_global */
	__u8 comm[16];
	__u8 device[RDMA_DEVICE_NAME_LEN];
};

#endif
