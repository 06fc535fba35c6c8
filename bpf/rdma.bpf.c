// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* RDMA family, user-space verbs path: uprobes (entry) and uretprobes (return) on the default-version
 * symbols of libibverbs.so.1. Entry saves the arguments by (thread, verb); return completes the call:
 * success -> verb counter, live-object map, QP event; failure -> error counter by errno. Maps and records:
 * rdma.h. Struct offsets come from rdma_offsets.h, generated from the installed verbs.h (bpf/Makefile).
 *
 * Program names: <verb>_in (uprobe) and <verb>_out (uretprobe); the loader attaches them by file offset
 * (native resolveSymbol), once per distinct libibverbs file found on the host. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "kotel.bpf.h"
#include "rdma.h"
#include "rdma_offsets.h"
#include "rdma.bpf.h"

#define EEXIST 17

const volatile bool targ_qp_events = true; /* rdma_events ring buffer (spans, connection table) */

KOTEL_CG_MAP(rdma_verb_calls, __u64, RDMA_MAX_CGROUP_KEYS);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RDMA_MAX_CALLS);
	__type(key, struct rdma_call_key);
	__type(value, struct rdma_call);
} rdma_calls SEC(".maps");

/* ---- helpers ---- */

static __always_inline int save_call(__u32 verb, __u64 arg0, __u64 arg1, __u32 arg2, __u32 qpn)
{
	struct rdma_call_key key = { .tid = (__u32)bpf_get_current_pid_tgid(), .verb = verb };
	struct rdma_call call = { .arg0 = arg0, .arg1 = arg1, .arg2 = arg2, .qpn = qpn };

	if (bpf_map_update_elem(&rdma_calls, &key, &call, BPF_ANY))
		kotel_count_drop(&rdma_drops, KOTEL_DROP_MAP_FULL);
	return 0;
}

/* Takes the call saved at entry; false when the entry was not seen (the agent attached mid-call). */
static __always_inline bool take_call(__u32 verb, struct rdma_call *out)
{
	struct rdma_call_key key = { .tid = (__u32)bpf_get_current_pid_tgid(), .verb = verb };
	struct rdma_call *call = bpf_map_lookup_elem(&rdma_calls, &key);

	if (!call)
		return false;
	*out = *call;
	bpf_map_delete_elem(&rdma_calls, &key);
	return true;
}

static __always_inline void read_device_name(__u64 ctx, __u8 *name)
{
	__u64 dev = 0;

	if (bpf_probe_read_user(&dev, sizeof(dev), (void *)(ctx + IBV_CONTEXT_DEVICE)) || !dev)
		return;
	bpf_probe_read_user_str(name, RDMA_DEVICE_NAME_LEN, (void *)(dev + IBV_DEVICE_NAME));
}

/* Context of a PD / CQ / MR / QP: the pointer at `off` in the object. */
static __always_inline __u64 read_ptr(__u64 obj, __u32 off)
{
	__u64 v = 0;

	bpf_probe_read_user(&v, sizeof(v), (void *)(obj + off));
	return v;
}

static __always_inline __u32 read_u32(__u64 addr)
{
	__u32 v = 0;

	bpf_probe_read_user(&v, sizeof(v), (void *)addr);
	return v;
}

static __always_inline void object_add(__u64 ptr, __u32 type, __u64 ctx, __u32 handle)
{
	struct rdma_object_key key = { .tgid = bpf_get_current_pid_tgid() >> 32, .ptr = ptr };
	struct rdma_object obj = { .cgroup_id = bpf_get_current_cgroup_id(), .type = type, .handle = handle };
	long ret;

	read_device_name(ctx, obj.device);
	/* BPF_ANY: an address reused after a destroy we missed (map full then) replaces the stale entry. */
	ret = bpf_map_update_elem(&rdma_objects, &key, &obj, BPF_ANY);
	if (ret)
		kotel_count_drop(&rdma_drops, KOTEL_DROP_MAP_FULL);
}

/* Removes a destroyed object; one kotel never saw created is counted in rdma_untracked instead. */
static __always_inline void object_del(__u64 ptr, __u32 type)
{
	struct rdma_object_key key = { .tgid = bpf_get_current_pid_tgid() >> 32, .ptr = ptr };

	if (bpf_map_delete_elem(&rdma_objects, &key))
		count(&rdma_untracked, type);
}

/* A failed call: int verbs return the errno (ibv_query_gid returns -1), pointer verbs NULL. */
static __always_inline void count_error(__u32 verb, long ret)
{
	__u32 err = ret > 0 && ret < RDMA_ERR_UNKNOWN ? (__u32)ret : RDMA_ERR_UNKNOWN;

	count(&rdma_verb_calls, verb | err << 8);
}

static __always_inline void qp_event(__u32 kind, __u64 qp, __u32 qpn, __u32 state, __u64 attr, __u32 mask)
{
	struct rdma_qp_event *e;
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (!targ_qp_events)
		return;
	e = bpf_ringbuf_reserve(&rdma_events, sizeof(*e), 0);
	if (!e) {
		kotel_count_drop(&rdma_drops, KOTEL_DROP_RINGBUF_FULL);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->qp = qp;
	e->tgid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->kind = kind;
	e->qpn = qpn;
	e->state = state;
	e->attr_mask = mask;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	/* modify too: a QP first seen there (older than kotel, or its create record lost) starts its span */
	if (kind != RDMA_QP_DESTROY) {
		read_device_name(read_ptr(qp, IBV_QP_CONTEXT), e->device);
		e->qp_type = read_u32(qp + IBV_QP_QP_TYPE);
	}
	if (attr) {
		if (mask & IBV_QP_DEST_QPN_MASK)
			e->dest_qpn = read_u32(attr + IBV_QP_ATTR_DEST_QP_NUM);
		if (mask & IBV_QP_AV_MASK) {
			__u8 b = 0;

			bpf_probe_read_user(&b, 1, (void *)(attr + IBV_QP_ATTR_AH_IS_GLOBAL));
			e->is_global = b;
			bpf_probe_read_user(&b, 1, (void *)(attr + IBV_QP_ATTR_AH_PORT_NUM));
			e->port = b;
			if (e->is_global) {
				bpf_probe_read_user(&b, 1, (void *)(attr + IBV_QP_ATTR_AH_SGID_INDEX));
				e->sgid_index = b;
				bpf_probe_read_user(e->dgid, 16, (void *)(attr + IBV_QP_ATTR_AH_DGID));
			}
		} else if (mask & IBV_QP_PORT_MASK) {
			__u8 b = 0;

			bpf_probe_read_user(&b, 1, (void *)(attr + IBV_QP_ATTR_PORT_NUM));
			e->port = b;
		}
	}
	kotel_ringbuf_submit(&rdma_events, e);
}

/* ---- open / close device: the context is a live object too ---- */

SEC("uprobe")
int BPF_KPROBE(open_device_in, void *device)
{
	return save_call(RDMA_VERB_OPEN_DEVICE, 0, 0, 0, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(open_device_out, void *vctx)
{
	struct rdma_call c;

	if (!take_call(RDMA_VERB_OPEN_DEVICE, &c))
		return 0;
	if (!vctx)
		return count_error(RDMA_VERB_OPEN_DEVICE, 0), 0;
	count(&rdma_verb_calls, RDMA_VERB_OPEN_DEVICE);
	object_add((__u64)vctx, RDMA_RES_CONTEXT, (__u64)vctx, 0);
	return 0;
}

/* Destroy-like verbs: object pointer saved at entry, removed on success. */
#define DESTROY_VERB(fn, verb, res)                            \
	SEC("uprobe")                                          \
	int BPF_KPROBE(fn##_in, void *obj)                     \
	{                                                      \
		return save_call(verb, (__u64)obj, 0, 0, 0);   \
	}                                                      \
	SEC("uretprobe")                                       \
	int BPF_KRETPROBE(fn##_out, long ret)                  \
	{                                                      \
		struct rdma_call c;                            \
		if (!take_call(verb, &c))                      \
			return 0;                              \
		if ((int)ret != 0)                             \
			return count_error(verb, (int)ret), 0; \
		count(&rdma_verb_calls, verb);                 \
		object_del(c.arg0, res);                       \
		return 0;                                      \
	}

DESTROY_VERB(close_device, RDMA_VERB_CLOSE_DEVICE, RDMA_RES_CONTEXT)
DESTROY_VERB(dealloc_pd, RDMA_VERB_DEALLOC_PD, RDMA_RES_PD)
DESTROY_VERB(destroy_cq, RDMA_VERB_DESTROY_CQ, RDMA_RES_CQ)
DESTROY_VERB(dereg_mr, RDMA_VERB_DEREG_MR, RDMA_RES_MR)

/* Create-like verbs: the returned object's context pointer sits at ctx_off, its handle at handle_off. */
#define CREATE_VERB(fn, verb, res, ctx_off, handle_off)                                                        \
	SEC("uprobe")                                                                                          \
	int BPF_KPROBE(fn##_in)                                                                                \
	{                                                                                                      \
		return save_call(verb, 0, 0, 0, 0);                                                            \
	}                                                                                                      \
	SEC("uretprobe")                                                                                       \
	int BPF_KRETPROBE(fn##_out, void *obj)                                                                 \
	{                                                                                                      \
		struct rdma_call c;                                                                            \
		if (!take_call(verb, &c))                                                                      \
			return 0;                                                                              \
		if (!obj)                                                                                      \
			return count_error(verb, 0), 0;                                                        \
		count(&rdma_verb_calls, verb);                                                                 \
		object_add((__u64)obj, res, read_ptr((__u64)obj, ctx_off), read_u32((__u64)obj + handle_off)); \
		return 0;                                                                                      \
	}

CREATE_VERB(alloc_pd, RDMA_VERB_ALLOC_PD, RDMA_RES_PD, IBV_PD_CONTEXT, IBV_PD_HANDLE)
CREATE_VERB(create_cq, RDMA_VERB_CREATE_CQ, RDMA_RES_CQ, IBV_CQ_CONTEXT, IBV_CQ_HANDLE)
CREATE_VERB(reg_mr, RDMA_VERB_REG_MR, RDMA_RES_MR, IBV_MR_CONTEXT, IBV_MR_HANDLE)

/* ---- QPs ---- */

SEC("uprobe")
int BPF_KPROBE(create_qp_in)
{
	return save_call(RDMA_VERB_CREATE_QP, 0, 0, 0, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(create_qp_out, void *qp)
{
	struct rdma_call c;
	__u32 qpn;

	if (!take_call(RDMA_VERB_CREATE_QP, &c))
		return 0;
	if (!qp)
		return count_error(RDMA_VERB_CREATE_QP, 0), 0;
	count(&rdma_verb_calls, RDMA_VERB_CREATE_QP);
	qpn = read_u32((__u64)qp + IBV_QP_QP_NUM);
	object_add((__u64)qp, RDMA_RES_QP, read_ptr((__u64)qp, IBV_QP_CONTEXT), qpn);
	qp_event(RDMA_QP_CREATE, (__u64)qp, qpn, read_u32((__u64)qp + IBV_QP_STATE_OFF), 0, 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(modify_qp_in, void *qp, void *attr, int mask)
{
	return save_call(RDMA_VERB_MODIFY_QP, (__u64)qp, (__u64)attr, mask, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(modify_qp_out, long ret)
{
	struct rdma_call c;
	__u32 state;

	if (!take_call(RDMA_VERB_MODIFY_QP, &c))
		return 0;
	if ((int)ret != 0)
		return count_error(RDMA_VERB_MODIFY_QP, (int)ret), 0;
	count(&rdma_verb_calls, RDMA_VERB_MODIFY_QP);
	if (!(c.arg2 & IBV_QP_STATE_MASK))
		return 0;
	/* the library set qp->state = attr->qp_state on success */
	state = read_u32(c.arg1 + IBV_QP_ATTR_QP_STATE);
	count(&rdma_qp_transitions, state);
	qp_event(RDMA_QP_MODIFY, c.arg0, read_u32(c.arg0 + IBV_QP_QP_NUM), state, c.arg1, c.arg2);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(destroy_qp_in, void *qp)
{
	/* read at entry: the QP is freed by the time the call returns */
	return save_call(RDMA_VERB_DESTROY_QP, (__u64)qp, 0, read_u32((__u64)qp + IBV_QP_STATE_OFF),
			 read_u32((__u64)qp + IBV_QP_QP_NUM));
}

SEC("uretprobe")
int BPF_KRETPROBE(destroy_qp_out, long ret)
{
	struct rdma_call c;

	if (!take_call(RDMA_VERB_DESTROY_QP, &c))
		return 0;
	if ((int)ret != 0)
		return count_error(RDMA_VERB_DESTROY_QP, (int)ret), 0;
	count(&rdma_verb_calls, RDMA_VERB_DESTROY_QP);
	object_del(c.arg0, RDMA_RES_QP);
	qp_event(RDMA_QP_DESTROY, c.arg0, c.qpn, c.arg2, 0, 0);
	return 0;
}

/* ---- GID queries: counted only ---- */

SEC("uprobe")
int BPF_KPROBE(query_gid_in)
{
	return save_call(RDMA_VERB_QUERY_GID, 0, 0, 0, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(query_gid_out, long ret)
{
	struct rdma_call c;

	if (!take_call(RDMA_VERB_QUERY_GID, &c))
		return 0;
	if ((int)ret != 0)
		return count_error(RDMA_VERB_QUERY_GID, (int)ret), 0;
	count(&rdma_verb_calls, RDMA_VERB_QUERY_GID);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
