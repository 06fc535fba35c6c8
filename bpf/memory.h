/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Memory family ABI: maps shared by memory.bpf.c and agent/src/probes/memory/. */
#ifndef KOTEL_MEMORY_H
#define KOTEL_MEMORY_H

#include "kotel.h"

/* Per-cgroup map (BPF_MAP_TYPE_PERCPU_HASH, key struct kotel_cg_key, value __u64), by the cgroup of the
 * task that faulted:
 *   mem_faults  page faults taken (exceptions:page_fault_user / page_fault_kernel, x86), kind =
 *               mode | access << 1: the CPU's mode at the fault (enum mem_fault_mode) and the access the
 *               error code names (enum mem_fault_access).
 *   mem_fault_types  page faults as the kernel accounts them (getrusage, memory.stat), at the return of
 *               handle_mm_fault (fexit, attached with families.memory.faultTypes): those that completed (not
 *               VM_FAULT_RETRY, no error), kind = enum mem_fault_type (major: VM_FAULT_MAJOR, or retried).
 *   mem_reclaim_pages  pages a reclaim freed (the end tracepoint's nr_reclaimed), kind = enum mem_reclaim_kind,
 *               by the cgroup of the task that reclaimed.
 *   mem_oom_kills  tasks the OOM killer chose (oom:mark_victim), kind 0, by the cgroup of the victim.
 * Per-cgroup histogram (value struct kotel_hist, kotel_hist.bpf.h):
 *   mem_reclaim_hist  reclaim stalls, begin -> end in the task, kind = enum mem_reclaim_kind.
 *   mem_compaction_hist  compaction passes over a zone (mm_compaction_begin -> end), kind = enum
 *               mem_compaction_kind, by the cgroup of the task that compacted.
 * Drops: mem_drops (KOTEL_DROPS_MAP). */
#define MEM_MAX_CGROUP_KEYS 10240 /* cgroups x 6 kinds */

enum mem_fault_mode {
	MEM_FAULT_USER = 0,
	MEM_FAULT_KERNEL = 1, /* in the kernel: a copy to or from user memory, or a kernel address */
};

enum mem_fault_type {
	MEM_FAULT_MINOR = 0,
	MEM_FAULT_MAJOR = 1,
};

enum mem_reclaim_kind {
	MEM_RECLAIM_DIRECT = 0, /* the system is short of memory (vmscan:mm_vmscan_direct_reclaim_*) */
	MEM_RECLAIM_MEMCG = 1,	/* the task's cgroup reached memory.max or memory.high (mm_vmscan_memcg_reclaim_*) */
};

enum mem_compaction_kind {
	MEM_COMPACTION_DIRECT = 0,     /* an allocation's direct compaction: a stall */
	MEM_COMPACTION_BACKGROUND = 1, /* a kernel thread's (kcompactd, proactive compaction) */
	MEM_COMPACTION_REQUESTED = 2,  /* a task asked for it (/proc/sys/vm/compact_memory) */
};

enum mem_fault_access {
	MEM_ACCESS_READ = 0,
	MEM_ACCESS_WRITE = 1,
	MEM_ACCESS_EXEC = 2, /* an instruction fetch */
};

#endif
