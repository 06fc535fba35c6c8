/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Minimal CO-RE views of the ib_core / rdma_cm structs the kernel RDMA path reads. They are not in
 * vmlinux.h (ib_core is a module, often absent); libbpf relocates every field access against the module
 * BTF (/sys/kernel/btf/ib_core, rdma_cm) at load. The ___kotel flavour keeps them from clashing with a
 * vmlinux.h that has the real ones; libbpf ignores the suffix when matching. Only the fields read are
 * declared; their order and offsets here mean nothing. */
#ifndef KOTEL_RDMA_KERNEL_TYPES_H
#define KOTEL_RDMA_KERNEL_TYPES_H

enum rdma_restrack_type___kotel {
	RDMA_RESTRACK_PD___kotel,
	RDMA_RESTRACK_CQ___kotel,
	RDMA_RESTRACK_QP___kotel,
	RDMA_RESTRACK_CM_ID___kotel,
	RDMA_RESTRACK_MR___kotel,
	RDMA_RESTRACK_CTX___kotel,
	RDMA_RESTRACK_COUNTER___kotel,
	RDMA_RESTRACK_SRQ___kotel,
};

/* local enums, not __u32: CO-RE matches an enum field only with an enum of the same (essential) name */
enum ib_qp_state___kotel { IB_QPS_RESET___kotel };
enum ib_qp_type___kotel { IB_QPT_SMI___kotel };

struct rdma_restrack_entry___kotel {
	bool valid;
	__u8 no_track : 1;
	struct task_struct *task;
	enum rdma_restrack_type___kotel type;
	__u32 id;
} __attribute__((preserve_access_index));

struct ib_device___kotel {
	char name[64];
} __attribute__((preserve_access_index));

/* the objects embedding a restrack entry, found from it by container_of */
struct ib_pd___kotel {
	struct ib_device___kotel *device;
	struct rdma_restrack_entry___kotel res;
} __attribute__((preserve_access_index));

struct ib_cq___kotel {
	struct ib_device___kotel *device;
	struct rdma_restrack_entry___kotel res;
} __attribute__((preserve_access_index));

struct ib_mr___kotel {
	struct ib_device___kotel *device;
	struct rdma_restrack_entry___kotel res;
} __attribute__((preserve_access_index));

struct ib_srq___kotel {
	struct ib_device___kotel *device;
	struct rdma_restrack_entry___kotel res;
} __attribute__((preserve_access_index));

struct ib_ucontext___kotel {
	struct ib_device___kotel *device;
	struct rdma_restrack_entry___kotel res;
} __attribute__((preserve_access_index));

struct ib_qp___kotel {
	struct ib_device___kotel *device;
	__u32 qp_num;
	enum ib_qp_type___kotel qp_type; /* same values as enum ibv_qp_type */
	struct rdma_restrack_entry___kotel res;
} __attribute__((preserve_access_index));

/* rdma_cm (module rdma_cm): an rdma_cm_id's restrack entry */
struct rdma_cm_id___kotel {
	struct ib_device___kotel *device;
} __attribute__((preserve_access_index));

struct rdma_id_private___kotel {
	struct rdma_cm_id___kotel id;
	struct rdma_restrack_entry___kotel res;
} __attribute__((preserve_access_index));

/* _ib_modify_qp's attributes */
union ib_gid___kotel {
	__u8 raw[16];
} __attribute__((preserve_access_index));

struct ib_global_route___kotel {
	union ib_gid___kotel dgid;
	__u8 sgid_index;
} __attribute__((preserve_access_index));

struct rdma_ah_attr___kotel {
	struct ib_global_route___kotel grh;
	__u32 port_num; /* u8 before 5.13: read with BPF_CORE_READ_BITFIELD_PROBED, which relocates the size */
	__u8 ah_flags;
} __attribute__((preserve_access_index));

struct ib_qp_attr___kotel {
	enum ib_qp_state___kotel qp_state; /* same values as enum ibv_qp_state */
	__u32 dest_qp_num;
	__u32 port_num; /* u8 before 5.13 */
	struct rdma_ah_attr___kotel ah_attr;
} __attribute__((preserve_access_index));

#endif
