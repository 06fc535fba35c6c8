// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* RDMA family, kernel path: hooks in ib_core and rdma_cm for hosts with RDMA. Every verbs object, from user
 * space (uverbs) or kernel users (ULPs, rdma_cm), passes rdma_restrack_add and rdma_restrack_del (or
 * rdma_restrack_commit_del); QP state changes pass
 * _ib_modify_qp (the rdma_cma tracepoints are rdma_cm.bpf.c's, a family of their own: rdma_cm is another
 * module, often loaded later). Records and the shared maps are
 * the user path's (rdma.h, decoded by the same TypeScript); kernel-only maps in rdma_kernel.h. The ib_core
 * structs come from rdma_kernel_types.h (CO-RE, relocated against the module BTF at load).
 *
 * Programs: restrack_add_fexit / _kprobe, restrack_del_fentry / _kprobe, restrack_commit_del_fentry /
 * _kprobe, modify_qp_fexit or
 * modify_qp_kentry + modify_qp_kret. Targets are set by the loader (the
 * kallsyms name of a kprobe may carry a .constprop suffix). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "kotel.bpf.h"
#include "rdma_kernel.h"
#include "rdma_kernel_types.h"
#include "rdma.bpf.h"

const volatile bool targ_qp_events = true;

KOTEL_EXPORT_TYPE(struct rdma_gone_key, rdma_gone_key);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RDMA_MAX_OBJECTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct rdma_gone_key);
	__type(value, __u64);
} rdma_gone SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RDMA_MAX_CALLS);
	__type(key, __u32);
	__type(value, struct rdma_kcall);
} rdma_kcalls SEC(".maps");

#define RT(name) bpf_core_enum_value(enum rdma_restrack_type___kotel, RDMA_RESTRACK_##name##___kotel)
#define CONTAINER(ptr, type) ((type *)((void *)(ptr)-bpf_core_field_offset(type, res)))

/* enum rdma_resource (rdma.h) and the device of a restrack entry; 0 for types kotel does not count */
static __always_inline __u32 res_info(struct rdma_restrack_entry___kotel *res, struct ib_device___kotel **dev)
{
	__u32 t = BPF_CORE_READ(res, type);

	if (t == RT(QP)) {
		*dev = BPF_CORE_READ(CONTAINER(res, struct ib_qp___kotel), device);
		return RDMA_RES_QP;
	}
	if (t == RT(PD)) {
		*dev = BPF_CORE_READ(CONTAINER(res, struct ib_pd___kotel), device);
		return RDMA_RES_PD;
	}
	if (t == RT(CQ)) {
		*dev = BPF_CORE_READ(CONTAINER(res, struct ib_cq___kotel), device);
		return RDMA_RES_CQ;
	}
	if (t == RT(MR)) {
		*dev = BPF_CORE_READ(CONTAINER(res, struct ib_mr___kotel), device);
		return RDMA_RES_MR;
	}
	if (t == RT(CTX)) {
		*dev = BPF_CORE_READ(CONTAINER(res, struct ib_ucontext___kotel), device);
		return RDMA_RES_CONTEXT;
	}
	if (bpf_core_enum_value_exists(enum rdma_restrack_type___kotel, RDMA_RESTRACK_SRQ___kotel) &&
	    bpf_core_type_exists(struct ib_srq___kotel) && t == RT(SRQ)) {
		*dev = BPF_CORE_READ(CONTAINER(res, struct ib_srq___kotel), device);
		return RDMA_RES_SRQ;
	}
	/* rdma_id_private is in rdma_cm's BTF: without that module the branch is dead code */
	if (bpf_core_type_exists(struct rdma_id_private___kotel) && t == RT(CM_ID)) {
		*dev = BPF_CORE_READ(CONTAINER(res, struct rdma_id_private___kotel), id.device);
		return RDMA_RES_CM_ID;
	}
	return 0;
}

static __always_inline bool untracked_entry(struct rdma_restrack_entry___kotel *res)
{
	if (bpf_core_field_exists(res->no_track) && BPF_CORE_READ_BITFIELD_PROBED(res, no_track))
		return true;
	return false;
}

/* the owning process (restrack task) or 0 for kernel users: the same at create, modify and destroy */
static __always_inline __u32 owner_tgid(struct rdma_restrack_entry___kotel *res)
{
	return BPF_CORE_READ(res, task, tgid);
}

static __always_inline struct rdma_qp_event *qp_event_start(__u32 kind, struct ib_qp___kotel *qp)
{
	struct rdma_qp_event *e;

	if (!targ_qp_events)
		return 0;
	e = bpf_ringbuf_reserve(&rdma_events, sizeof(*e), 0);
	if (!e) {
		kotel_count_drop(&rdma_drops, KOTEL_DROP_RINGBUF_FULL);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	/* the restrack entry, not the ib_qp: the QP's key in rdma_objects, so user space can reconcile */
	e->qp = (__u64)&qp->res;
	e->tgid = owner_tgid(&qp->res);
	e->cgroup_id = e->tgid ? bpf_get_current_cgroup_id() : 0;
	e->tid = (__u32)bpf_get_current_pid_tgid();
	e->kind = kind;
	e->qpn = BPF_CORE_READ(qp, qp_num);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

static __always_inline void on_add(struct rdma_restrack_entry___kotel *res, bool after)
{
	struct ib_device___kotel *dev = 0;
	struct rdma_object_key key = { .ptr = (__u64)res };
	struct rdma_object obj = {};
	__u32 type;

	/* after the call (fexit): count only what the kernel tracks; before it (kprobe), valid is not set yet */
	if ((after && !BPF_CORE_READ(res, valid)) || untracked_entry(res))
		return;
	type = res_info(res, &dev);
	if (!type)
		return;
	obj.type = type;
	/* kernel users (no owning task: ib_core's GSI QP, NVMe-oF, ...) are the kernel's, cgroup 0, not the cgroup
	 * of whichever process made the device */
	obj.cgroup_id = owner_tgid(res) ? bpf_get_current_cgroup_id() : 0;
	obj.handle = BPF_CORE_READ(res, id);
	bpf_core_read_str(obj.device, sizeof(obj.device), &dev->name);
	if (bpf_map_update_elem(&rdma_objects, &key, &obj, BPF_ANY))
		kotel_count_drop(&rdma_drops, KOTEL_DROP_MAP_FULL);
	if (type == RDMA_RES_QP) {
		struct ib_qp___kotel *qp = CONTAINER(res, struct ib_qp___kotel);
		struct rdma_qp_event *e = qp_event_start(RDMA_QP_CREATE, qp);

		if (!e)
			return;
		e->qp_type = BPF_CORE_READ(qp, qp_type);
		__builtin_memcpy(e->device, obj.device, sizeof(e->device));
		kotel_ringbuf_submit(&rdma_events, e);
	}
}

static __always_inline void on_del(struct rdma_restrack_entry___kotel *res)
{
	struct ib_device___kotel *dev = 0;
	struct rdma_object_key key = { .ptr = (__u64)res };
	bool qp;

	if (bpf_map_delete_elem(&rdma_objects, &key)) {
		/* not seen added: older than kotel (or added while the map was full) */
		struct rdma_gone_key gone = {};
		__u64 one = 1;

		if (!BPF_CORE_READ(res, valid) || untracked_entry(res))
			return;
		gone.type = res_info(res, &dev);
		if (!gone.type)
			return;
		gone.id = BPF_CORE_READ(res, id);
		bpf_core_read_str(gone.device, sizeof(gone.device), &dev->name);
		count(&rdma_untracked, gone.type);
		/* full: a seeded object stays counted (the agent empties the map at each collection) */
		if (bpf_map_update_elem(&rdma_gone, &gone, &one, BPF_ANY))
			kotel_count_drop(&rdma_drops, KOTEL_DROP_MAP_FULL);
		qp = gone.type == RDMA_RES_QP;
	} else {
		qp = BPF_CORE_READ(res, type) == RT(QP);
	}
	/* also for a QP older than kotel: its span started at its first modify */
	if (qp) {
		struct rdma_qp_event *e = qp_event_start(RDMA_QP_DESTROY, CONTAINER(res, struct ib_qp___kotel));

		if (e)
			kotel_ringbuf_submit(&rdma_events, e);
	}
}

static __always_inline void on_modify(struct ib_qp___kotel *qp, struct ib_qp_attr___kotel *attr, __u32 mask, int ret)
{
	struct ib_device___kotel *dev;
	struct rdma_qp_event *e;
	__u32 state;

	if (ret != 0 || !(mask & IB_QP_STATE_BIT))
		return;
	state = BPF_CORE_READ(attr, qp_state);
	count(&rdma_qp_transitions, state);
	e = qp_event_start(RDMA_QP_MODIFY, qp);
	if (!e)
		return;
	e->state = state;
	e->attr_mask = mask;
	e->qp_type = BPF_CORE_READ(qp, qp_type); /* for a QP first seen here (older than kotel) */
	if (mask & IB_QP_DEST_QPN_BIT)
		e->dest_qpn = BPF_CORE_READ(attr, dest_qp_num);
	if (mask & IB_QP_AV_BIT) {
		e->port = BPF_CORE_READ_BITFIELD_PROBED(attr, ah_attr.port_num);
		e->is_global = BPF_CORE_READ(attr, ah_attr.ah_flags) & IB_AH_GRH_FLAG;
		if (e->is_global) {
			e->sgid_index = BPF_CORE_READ(attr, ah_attr.grh.sgid_index);
			bpf_core_read(e->dgid, sizeof(e->dgid), &attr->ah_attr.grh.dgid);
		}
	} else if (mask & IB_QP_PORT_BIT) {
		e->port = BPF_CORE_READ_BITFIELD_PROBED(attr, port_num);
	}
	/* qp is a scalar on the kretprobe rung: no direct loads (qp->device), only probe reads */
	dev = BPF_CORE_READ(qp, device);
	bpf_core_read_str(e->device, sizeof(e->device), &dev->name);
	kotel_ringbuf_submit(&rdma_events, e);
}

/* ---- rdma_restrack_add / rdma_restrack_del: fentry family first, kprobe fallback ---- */

SEC("fexit")
int BPF_PROG(restrack_add_fexit, struct rdma_restrack_entry___kotel *res)
{
	on_add(res, true);
	return 0;
}

SEC("kprobe")
int BPF_KPROBE(restrack_add_kprobe, struct rdma_restrack_entry___kotel *res)
{
	on_add(res, false);
	return 0;
}

/* An object's delete, at the entry of fn: fentry, kprobe fallback. Kernels with the two-phase delete
 * (Debian's 6.1 and 6.12 have it) remove PDs, CQs, QPs and SRQs with rdma_restrack_begin_del, then
 * rdma_restrack_commit_del once the driver destroyed the object (rdma_restrack_abort_del if it could not):
 * those never pass rdma_restrack_del. At commit_del's entry the entry is still valid, with its task. */
#define RESTRACK_DELETE(fn)                                                  \
	SEC("fentry")                                                        \
	int BPF_PROG(fn##_fentry, struct rdma_restrack_entry___kotel *res)   \
	{                                                                    \
		on_del(res);                                                 \
		return 0;                                                    \
	}                                                                    \
	SEC("kprobe")                                                        \
	int BPF_KPROBE(fn##_kprobe, struct rdma_restrack_entry___kotel *res) \
	{                                                                    \
		on_del(res);                                                 \
		return 0;                                                    \
	}

RESTRACK_DELETE(restrack_del)
RESTRACK_DELETE(restrack_commit_del)

/* ---- _ib_modify_qp(qp, attr, attr_mask, udata): fexit, or kprobe + kretprobe ---- */

SEC("fexit")
int BPF_PROG(modify_qp_fexit, struct ib_qp___kotel *qp, struct ib_qp_attr___kotel *attr, int mask, void *udata, int ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	/* the kprobe entry rung may be attached too (its ladder is separate): drop what it saved */
	bpf_map_delete_elem(&rdma_kcalls, &tid);
	on_modify(qp, attr, mask, ret);
	return 0;
}

SEC("kprobe")
int BPF_KPROBE(modify_qp_kentry, struct ib_qp___kotel *qp, struct ib_qp_attr___kotel *attr, int mask)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct rdma_kcall c = { .qp = (__u64)qp, .attr = (__u64)attr, .mask = mask };

	if (bpf_map_update_elem(&rdma_kcalls, &tid, &c, BPF_ANY))
		kotel_count_drop(&rdma_drops, KOTEL_DROP_MAP_FULL);
	return 0;
}

SEC("kretprobe")
int BPF_KRETPROBE(modify_qp_kret, int ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct rdma_kcall *c = bpf_map_lookup_elem(&rdma_kcalls, &tid);
	struct rdma_kcall call;

	if (!c)
		return 0;
	call = *c;
	bpf_map_delete_elem(&rdma_kcalls, &tid);
	on_modify((void *)call.qp, (void *)call.attr, call.mask, ret);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
