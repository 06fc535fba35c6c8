// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Memory family: page faults per cgroup, by the CPU's mode and the access (x86's exception tracepoints,
 * which fire on every fault before it is handled), and by type as the kernel accounts them (fexit on
 * handle_mm_fault); reclaim stalls (vmscan's direct and memcg reclaim tracepoints), compaction passes
 * (compaction tracepoints) and OOM kills (oom:mark_victim). Maps: memory.h. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kotel.bpf.h"
#include "memory.h"

/* x86 page fault error code bits (arch/x86/include/asm/trap_pf.h, hardware-defined) */
#define X86_PF_WRITE (1UL << 1)
#define X86_PF_INSTR (1UL << 4)
#define PF_KTHREAD 0x00200000 /* include/linux/sched.h */

/* the record of a classic exceptions tracepoint, as its tracefs format lays it out (vmlinux.h has no
 * trace_event_raw_x86_exceptions: the event class is x86's) */
struct x86_exceptions_record {
	struct trace_entry ent;
	unsigned long address;
	unsigned long ip;
	unsigned long error_code;
};

KOTEL_CG_MAP(mem_faults, __u64, MEM_MAX_CGROUP_KEYS);
KOTEL_CG_MAP(mem_fault_types, __u64, MEM_MAX_CGROUP_KEYS);
KOTEL_CG_MAP(mem_reclaim_hist, struct kotel_hist, MEM_MAX_CGROUP_KEYS);
KOTEL_CG_MAP(mem_reclaim_pages, __u64, MEM_MAX_CGROUP_KEYS);
KOTEL_CG_MAP(mem_oom_kills, __u64, MEM_MAX_CGROUP_KEYS);
KOTEL_CG_MAP(mem_compaction_hist, struct kotel_hist, MEM_MAX_CGROUP_KEYS);
KOTEL_DROPS_MAP(mem_drops);

/* a reclaim under way in the task: its start and kind (enum mem_reclaim_kind); a compaction pass's start */
struct mem_task_state {
	__u64 reclaim_start; /* 0: none */
	__u32 reclaim_kind;
	__u32 _pad;
	__u64 compaction_start; /* 0: none */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct mem_task_state);
} mem_task SEC(".maps");

/* the task's state; made when create is set, a drop counted when it cannot be */
static __always_inline struct mem_task_state *task_state(bool create)
{
	struct mem_task_state *s =
	    bpf_task_storage_get(&mem_task, bpf_get_current_task_btf(), 0, create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);

	if (!s && create)
		kotel_count_drop(&mem_drops, KOTEL_DROP_TASK_STORAGE);
	return s;
}

static __always_inline int count_fault(unsigned long error_code, __u32 mode)
{
	struct kotel_cg_key key = { .cgroup_id = bpf_get_current_cgroup_id() };
	__u32 access = MEM_ACCESS_READ;

	if (error_code & X86_PF_INSTR)
		access = MEM_ACCESS_EXEC;
	else if (error_code & X86_PF_WRITE)
		access = MEM_ACCESS_WRITE;
	key.kind = mode | access << 1;
	kotel_counter_add(&mem_faults, &key, 1, &mem_drops);
	return 0;
}

KOTEL_BTF_AND_RAW(page_fault_user, count_fault(error_code, MEM_FAULT_USER), unsigned long address, struct pt_regs *regs,
		  unsigned long error_code)
KOTEL_BTF_AND_RAW(page_fault_kernel, count_fault(error_code, MEM_FAULT_KERNEL), unsigned long address,
		  struct pt_regs *regs, unsigned long error_code)

SEC("tp/exceptions/page_fault_user")
int page_fault_user_tp(struct x86_exceptions_record *ctx)
{
	return count_fault(ctx->error_code, MEM_FAULT_USER);
}

SEC("tp/exceptions/page_fault_kernel")
int page_fault_kernel_tp(struct x86_exceptions_record *ctx)
{
	return count_fault(ctx->error_code, MEM_FAULT_KERNEL);
}

/* As mm_account_fault (mm/memory.c, 5.9+) counts a fault for getrusage and memory.stat: not one that will
 * be retried (it counts when it completes) nor one that failed; major if it read the page, or was retried
 * (FAULT_FLAG_TRIED: it waited for the page on its first try). Faults through get_user_pages count too. */
SEC("fexit")
int BPF_PROG(handle_mm_fault_exit, struct vm_area_struct *vma, unsigned long address, unsigned int flags,
	     struct pt_regs *regs, vm_fault_t ret)
{
	struct kotel_cg_key key = { .cgroup_id = bpf_get_current_cgroup_id() };
	__u32 skip = bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_RETRY) |
		     bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_OOM) |
		     bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_SIGBUS) |
		     bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_SIGSEGV) |
		     bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_HWPOISON) |
		     bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_HWPOISON_LARGE) |
		     bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_FALLBACK);

	if (ret & skip)
		return 0;
	if ((ret & bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_MAJOR)) ||
	    (flags & bpf_core_enum_value(enum fault_flag, FAULT_FLAG_TRIED)))
		key.kind = MEM_FAULT_MAJOR;
	else
		key.kind = MEM_FAULT_MINOR;
	kotel_counter_add(&mem_fault_types, &key, 1, &mem_drops);
	return 0;
}

/* A reclaim does not nest in another (reclaim runs with PF_MEMALLOC, which no allocation reclaims under): a
 * begin whose end was missed (the programs attached in between) is overwritten by the next. */
static __always_inline int reclaim_begin(__u32 kind)
{
	struct mem_task_state *s = task_state(true);

	if (!s)
		return 0;
	s->reclaim_kind = kind;
	s->reclaim_start = bpf_ktime_get_ns();
	return 0;
}

static __always_inline int reclaim_end(__u32 kind, unsigned long nr_reclaimed)
{
	struct mem_task_state *s = task_state(false);
	struct kotel_cg_key key = { .cgroup_id = bpf_get_current_cgroup_id(), .kind = kind };
	__u64 now = bpf_ktime_get_ns();

	if (!s || !s->reclaim_start || s->reclaim_kind != kind)
		return 0;
	kotel_hist_add(&mem_reclaim_hist, &key, now - s->reclaim_start, &mem_drops);
	kotel_counter_add(&mem_reclaim_pages, &key, nr_reclaimed, &mem_drops);
	s->reclaim_start = 0;
	return 0;
}

KOTEL_BTF_AND_RAW(mm_vmscan_direct_reclaim_begin, reclaim_begin(MEM_RECLAIM_DIRECT), int order, gfp_t gfp_flags)
KOTEL_BTF_AND_RAW(mm_vmscan_direct_reclaim_end, reclaim_end(MEM_RECLAIM_DIRECT, nr_reclaimed),
		  unsigned long nr_reclaimed)
KOTEL_BTF_AND_RAW(mm_vmscan_memcg_reclaim_begin, reclaim_begin(MEM_RECLAIM_MEMCG), int order, gfp_t gfp_flags)
KOTEL_BTF_AND_RAW(mm_vmscan_memcg_reclaim_end, reclaim_end(MEM_RECLAIM_MEMCG, nr_reclaimed), unsigned long nr_reclaimed)

SEC("tp/vmscan/mm_vmscan_direct_reclaim_begin")
int mm_vmscan_direct_reclaim_begin_tp(void *ctx)
{
	return reclaim_begin(MEM_RECLAIM_DIRECT);
}

SEC("tp/vmscan/mm_vmscan_direct_reclaim_end")
int mm_vmscan_direct_reclaim_end_tp(struct trace_event_raw_mm_vmscan_direct_reclaim_end_template *ctx)
{
	return reclaim_end(MEM_RECLAIM_DIRECT, ctx->nr_reclaimed);
}

SEC("tp/vmscan/mm_vmscan_memcg_reclaim_begin")
int mm_vmscan_memcg_reclaim_begin_tp(void *ctx)
{
	return reclaim_begin(MEM_RECLAIM_MEMCG);
}

SEC("tp/vmscan/mm_vmscan_memcg_reclaim_end")
int mm_vmscan_memcg_reclaim_end_tp(struct trace_event_raw_mm_vmscan_direct_reclaim_end_template *ctx)
{
	return reclaim_end(MEM_RECLAIM_MEMCG, ctx->nr_reclaimed);
}

/* One compaction pass over a zone (compact_zone): direct compaction in a task that allocates, else
 * kcompactd's (a kernel thread) or one asked for (a write to /proc/sys/vm/compact_memory); passes do not nest. */
static __always_inline int compaction_begin(void)
{
	struct mem_task_state *s = task_state(true);

	if (!s)
		return 0;
	s->compaction_start = bpf_ktime_get_ns();
	return 0;
}

static __always_inline int compaction_end(struct compact_control *cc)
{
	struct mem_task_state *s = task_state(false);
	struct kotel_cg_key key = { .cgroup_id = bpf_get_current_cgroup_id() };
	__u64 now = bpf_ktime_get_ns();

	if (!s || !s->compaction_start)
		return 0;
	if (BPF_CORE_READ(cc, direct_compaction))
		key.kind = MEM_COMPACTION_DIRECT;
	else if (bpf_get_current_task_btf()->flags & PF_KTHREAD)
		key.kind = MEM_COMPACTION_BACKGROUND;
	else
		key.kind = MEM_COMPACTION_REQUESTED;
	kotel_hist_add(&mem_compaction_hist, &key, now - s->compaction_start, &mem_drops);
	s->compaction_start = 0;
	return 0;
}

KOTEL_BTF_AND_RAW(mm_compaction_begin, compaction_begin(), struct compact_control *cc, unsigned long zone_start,
		  unsigned long zone_end, bool sync)
KOTEL_BTF_AND_RAW(mm_compaction_end, compaction_end(cc), struct compact_control *cc, unsigned long zone_start,
		  unsigned long zone_end, bool sync, int status)

/* The OOM killer chose task: counted by the victim's cgroup, where memory.events counts oom_kill, not by
 * the cgroup of the task whose allocation failed. mark_victim's arguments have been (task, uid) since 6.8
 * upstream (and in Debian's 6.1), when its record gained uid; before, a pid, which names no cgroup: counted
 * with cgroup 0 there. */
static __always_inline int count_oom_kill(struct task_struct *task)
{
	struct kotel_cg_key key = {};

	if (bpf_core_field_exists(struct trace_event_raw_mark_victim, uid))
		key.cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
	kotel_counter_add(&mem_oom_kills, &key, 1, &mem_drops);
	return 0;
}

KOTEL_BTF_AND_RAW(mark_victim, count_oom_kill(task), struct task_struct *task, uid_t uid)

char LICENSE[] SEC("license") = "Dual BSD/GPL";
