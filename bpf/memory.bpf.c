// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Memory family: page faults per cgroup, by the CPU's mode and the access (x86's exception tracepoints,
 * which fire on every fault before it is handled), and by type as the kernel accounts them (fexit on
 * handle_mm_fault). Maps: memory.h. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kotel.bpf.h"
#include "memory.h"

/* x86 page fault error code bits (arch/x86/include/asm/trap_pf.h, hardware-defined) */
#define X86_PF_WRITE (1UL << 1)
#define X86_PF_INSTR (1UL << 4)

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
KOTEL_DROPS_MAP(mem_drops);

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

char LICENSE[] SEC("license") = "Dual BSD/GPL";
