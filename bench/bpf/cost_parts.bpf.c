// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* What the parts of an aggregating program cost (bench/sections/costParts.ts): programs on tp_btf/sched_switch
 * that each do one thing the families' programs do, for the next task switched in, next to an empty one. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "kotel.bpf.h"

struct part_task {
	__u64 n;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct part_task);
} part_task SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} part_array SEC(".maps");

KOTEL_CG_MAP(part_counter, __u64, 1024);
KOTEL_CG_MAP(part_hist, struct kotel_hist, 1024);
KOTEL_DROPS_MAP(part_drops);

__u64 part_sink;

static __always_inline __u64 cgroup_of(struct task_struct *p)
{
	return p->cgroups->dfl_cgrp->kn->id;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(part_empty, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(part_clock, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	part_sink = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(part_task_storage, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct part_task *t = bpf_task_storage_get(&part_task, next, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (t)
		t->n++;
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(part_cgroup_id, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	part_sink = cgroup_of(next);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(part_percpu_array, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 i = next->pid & 1023;
	__u64 *v = bpf_map_lookup_elem(&part_array, &i);

	if (v)
		*v += 1;
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(part_cgroup_counter, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct kotel_cg_key key = { .cgroup_id = cgroup_of(next) };

	kotel_counter_add(&part_counter, &key, 1, &part_drops);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(part_cgroup_histogram, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct kotel_cg_key key = { .cgroup_id = cgroup_of(next) };

	kotel_hist_add(&part_hist, &key, next->se.sum_exec_runtime & 0xffffff, &part_drops);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
