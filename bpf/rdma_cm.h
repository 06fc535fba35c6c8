/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* RDMA connection-manager family (rdma_cm.bpf.c, the rdma_cma tracepoints of the rdma_cm module): maps
 * shared with agent/src/probes/rdma/cm.ts.
 *   rdma_cm_events  tracepoint hits per cgroup; kind = enum rdma_cm_event | errno << 8 (cm_qp_create).
 * Drops: rdma_cm_drops (KOTEL_DROPS_MAP). */
#ifndef KOTEL_RDMA_CM_H
#define KOTEL_RDMA_CM_H

#define RDMA_CM_MAX_CGROUP_KEYS 10240

enum rdma_cm_event {
	RDMA_CM_SEND_REQ = 1,
	RDMA_CM_SEND_REP = 2,
	RDMA_CM_SEND_RTU = 3,
	RDMA_CM_SEND_REJ = 4,
	RDMA_CM_DISCONNECT = 5,
	RDMA_CM_QP_CREATE = 6,
	RDMA_CM_QP_DESTROY = 7,
	RDMA_CM_ID_DESTROY = 8,
};

#endif
