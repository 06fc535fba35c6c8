/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* RDMA family, kernel path (rdma_kernel.bpf.c, hooks in ib_core): maps and records shared with
 * agent/src/probes/rdma/kernel*.ts. Records and most maps are the user path's (rdma.h), so one decoder
 * and one table serve both:
 *   rdma_objects        key struct rdma_object_key {tgid = 0, ptr = the rdma_restrack_entry's address},
 *                       value struct rdma_object (handle = the restrack id, the one `rdma resource` shows:
 *                       QPN, PDN, CQN, MRN, ...); one per object added and not yet deleted.
 *   rdma_qp_transitions successful _ib_modify_qp calls that set a state; kind = enum ib_qp_state.
 *   rdma_untracked      deletes of objects not seen added; kind = enum rdma_resource.
 *   rdma_events         ring buffer of struct rdma_qp_event (create at restrack add, modify, destroy at
 *                       restrack del, also of QPs older than kotel); tgid is the owning process (restrack
 *                       task) or 0 for kernel users; qp is the rdma_restrack_entry's address (the key's ptr).
 * Kernel path only:
 *   rdma_gone           key struct rdma_gone_key, value __u64 (1): the deletes counted in rdma_untracked,
 *                       by identity, so user space can take them off the objects it seeded from netlink.
 *   rdma_kcalls         kprobe fallback only: _ib_modify_qp arguments by thread, entry -> return. */
#ifndef KOTEL_RDMA_KERNEL_H
#define KOTEL_RDMA_KERNEL_H

#include "rdma.h"

/* enum rdma_resource (rdma.h) continued: objects only the kernel path sees */
#define RDMA_RES_SRQ 6
#define RDMA_RES_CM_ID 7

/* ib_qp_attr_mask bits: the uverbs ABI passes ibv_qp_attr_mask through unchanged, so these equal IBV_QP_* */
#define IB_QP_STATE_BIT 1
#define IB_QP_PORT_BIT (1 << 5)
#define IB_QP_AV_BIT (1 << 7)
#define IB_QP_DEST_QPN_BIT (1 << 20)
#define IB_AH_GRH_FLAG 1

struct rdma_gone_key {
	__u32 type; /* enum rdma_resource */
	__u32 id;   /* restrack id */
	__u8 device[RDMA_DEVICE_NAME_LEN];
};

struct rdma_kcall {
	__u64 qp;
	__u64 attr;
	__u32 mask;
	__u32 _pad;
};

#endif
