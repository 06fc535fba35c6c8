// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Which syscalls are futex waits, for the locks family's sys_enter/sys_exit probes (locks.bpf.c): the
 * syscall numbers of x86_64, ia32 and x32 tasks and the futex commands that can wait (locks.h kinds). */
#ifndef KOTEL_FUTEX_SYSCALLS_BPF_H
#define KOTEL_FUTEX_SYSCALLS_BPF_H

/* x86_64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl); vmlinux.h is x86_64 only. An ia32
 * syscall (int 0x80, a 32-bit task) has its own (syscall_32.tbl: futex 240, futex_time64 422; 202 is
 * getegid32; futex_waitv and futex_wait are the same) and its arguments in bx, cx; an x32 one is the
 * x86_64 number with __X32_SYSCALL_BIT. */
#define NR_FUTEX 202
#define NR_FUTEX_WAITV 449
#define NR_FUTEX_WAIT 455
#define NR_IA32_FUTEX 240
#define NR_IA32_FUTEX_TIME64 422
#define X32_SYSCALL_BIT 0x40000000
#define TS_COMPAT 0x0002 /* thread_info.status during an ia32 syscall (arch/x86/include/asm/thread_info.h) */

#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_CMD_MASK ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)

static __always_inline bool ia32_syscall(void)
{
	struct task_struct *t = bpf_get_current_task_btf();

	return bpf_core_field_exists(t->thread_info.status) && (t->thread_info.status & TS_COMPAT);
}

/* the x86_64 number of a futex syscall, or -1 for any other syscall (every syscall passes here: the
 * number is checked before the task) */
static __always_inline long futex_nr(long id)
{
	bool ia32;

	id &= ~X32_SYSCALL_BIT;
	if (id != NR_FUTEX && id != NR_FUTEX_WAITV && id != NR_FUTEX_WAIT && id != NR_IA32_FUTEX &&
	    id != NR_IA32_FUTEX_TIME64)
		return -1;
	ia32 = ia32_syscall();
	if (id == NR_IA32_FUTEX || id == NR_IA32_FUTEX_TIME64)
		return ia32 ? NR_FUTEX : -1;
	return ia32 && id == NR_FUTEX ? -1 : id;
}

/* The futex kind of a syscall that can wait, or -1. */
static __always_inline int futex_kind(long id, __u64 op)
{
	__u32 cmd;

	if (id == NR_FUTEX_WAITV)
		return FUTEX_KIND_WAITV;
	if (id == NR_FUTEX_WAIT)
		return FUTEX_KIND_FUTEX2_WAIT;
	cmd = (__u32)op & FUTEX_CMD_MASK;
	switch (cmd) {
	case FUTEX_KIND_WAIT:
	case FUTEX_KIND_LOCK_PI:
	case FUTEX_KIND_WAIT_BITSET:
	case FUTEX_KIND_WAIT_REQUEUE_PI:
	case FUTEX_KIND_LOCK_PI2:
		return cmd;
	}
	return -1;
}

#endif
