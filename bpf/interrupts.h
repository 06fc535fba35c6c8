/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Interrupts family ABI: maps shared by interrupts.bpf.c and agent/src/probes/interrupts/. */
#ifndef KOTEL_INTERRUPTS_H
#define KOTEL_INTERRUPTS_H

#include "kotel.h"

/* Maps (BPF_MAP_TYPE_PERCPU_HASH, key struct kotel_cg_key with cgroup_id 0: an interrupt belongs to no
 * task), value struct kotel_hist, handler time in ns (entry -> exit tracepoint):
 *   irq_hard_hist  kind = the IRQ number (irq_handler_entry: one event per handler of a shared line).
 *   irq_soft_hist  kind = the softirq vector (enum of kernel/softirq.c softirq_to_name: 0 HI .. 9 RCU).
 * With targ_per_cpu the CPU goes in the kind's high half: kind = vector | (cpu + 1) << 16. An IRQ number
 * over 0xffff (none on common hosts) is dropped as KOTEL_DROP_INVALID_VALUE, so the kind stays unambiguous.
 * Per-CPU state: irq_start (BPF_MAP_TYPE_PERCPU_ARRAY, one struct irq_start): a hard IRQ may interrupt a
 * softirq, so each has its own stamp; neither nests within its own kind on one CPU.
 * Drops: irq_drops (KOTEL_DROPS_MAP). */
#define IRQ_MAX_KEYS 4096 /* vectors (x CPUs with targ_per_cpu) */
#define IRQ_KIND_CPU_SHIFT 16

struct irq_start {
	__u64 hard_ns; /* CLOCK_MONOTONIC at irq_handler_entry; 0: not in a handler */
	__u64 soft_ns; /* at softirq_entry; 0: not in a softirq */
	__u32 hard_irq;
	__u32 soft_vec;
};

#endif
