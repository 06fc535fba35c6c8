// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Memory family: page faults per cgroup, by the CPU's mode and the access (x86's exception tracepoints,
 * which fire on every fault before it is handled). Maps: memory.h. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
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

char LICENSE[] SEC("license") = "Dual BSD/GPL";
