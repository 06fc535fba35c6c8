// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The kernel histogram's cost per event (bench/sections/histogramCost.ts): on every ftruncate() of the bench
 * process, one program adds its length (ns) to a kotel histogram (kotel_hist_add at the scale of this
 * object's knobs), one to a log2 histogram of 42 slots as kotel kept them before exponential buckets (the
 * reference), and one only filters (the floor). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kotel.bpf.h"

#define NR_FTRUNCATE 77 /* x86_64 */
#define LOG2_SLOTS 42

const volatile __u32 targ_tgid = 0;

struct log2_hist {
	__u64 slots[LOG2_SLOTS];
	__u64 sum_ns;
};

KOTEL_CG_MAP(exp_hist, struct kotel_hist, 64);
KOTEL_CG_MAP(log2_hist, struct log2_hist, 4);
KOTEL_DROPS_MAP(cost_drops);

static __always_inline bool ours(long id)
{
	return id == NR_FTRUNCATE && (bpf_get_current_pid_tgid() >> 32) == targ_tgid;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(cost_floor, struct pt_regs *regs, long id)
{
	if (!ours(id))
		return 0;
	barrier_var(regs);
	return 0;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(cost_exp, struct pt_regs *regs, long id)
{
	struct kotel_cg_key key = { .cgroup_id = 1 };

	if (!ours(id))
		return 0;
	kotel_hist_add(&exp_hist, &key, BPF_CORE_READ(regs, si), &cost_drops);
	return 0;
}

/* ceil(log2(v)) slots as before: the same lookup-or-create, one shift search less */
SEC("raw_tp/sys_enter")
int BPF_PROG(cost_log2, struct pt_regs *regs, long id)
{
	static const struct log2_hist zero = {};
	struct kotel_cg_key key = { .cgroup_id = 1 };
	struct log2_hist *h;
	__u64 v, slot;

	if (!ours(id))
		return 0;
	v = BPF_CORE_READ(regs, si);
	h = bpf_map_lookup_elem(&log2_hist, &key);
	if (!h) {
		bpf_map_update_elem(&log2_hist, &key, &zero, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&log2_hist, &key);
		if (!h)
			return 0;
	}
	slot = v <= 1 ? 0 : kotel_log2(v - 1) + 1;
	barrier_var(slot);
	if (slot >= LOG2_SLOTS)
		slot = LOG2_SLOTS - 1;
	barrier_var(slot);
	if (slot >= LOG2_SLOTS)
		return 0;
	h->slots[slot] += 1;
	h->sum_ns += v;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
