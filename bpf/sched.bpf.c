// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Scheduler family: run-queue delay (sched_wakeup, sched_wakeup_new, sched_switch), context switches by
 * kind, CPU migrations (sched_migrate_task), optional off-CPU time. Maps: sched.h. Everything is
 * aggregated here, by the cgroup of the task concerned (not the current one).
 *
 * Run-queue delay, as bcc's runqlat: a task is enqueued at its wakeup, or at a switch-out that leaves it
 * runnable (preempted, yielded); the delay ends at its next switch-in. A wakeup of a task still on a CPU
 * (it had not blocked yet) is not an enqueue: tp_btf skips it (p->on_cpu), the pid-hash rungs clear the
 * stamp at the next voluntary switch-out instead.
 *
 * Per-task state: tp_btf arguments are trusted task pointers, so those rungs keep it in task storage (no
 * hashing, no locks, freed with the task); raw_tp and tp arguments are not, so those rungs use an LRU hash
 * keyed by pid. The two stores are separate: all three tracepoints must land on the same kind of rung
 * (the agent checks and says so). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "kotel.bpf.h"
#include "sched.h"

#define TASK_RUNNING 0
#define TASK_DEAD 0x80
#define TASK_REPORT_MASK 0xff /* classic sched_switch prev_state: task states; 0x100 (TASK_REPORT_MAX) = preempted */

/* Knobs, set by the loader before load; the verifier prunes what they switch off. */
const volatile bool targ_offcpu = false;  /* sched_offcpu_hist */
const volatile bool targ_per_cpu = false; /* sched_runq_hist kind = cpu + 1 */

KOTEL_CG_MAP(sched_runq_hist, struct kotel_hist, SCHED_MAX_CGROUP_KEYS);
KOTEL_CG_MAP(sched_offcpu_hist, struct kotel_hist, SCHED_MAX_CGROUP_KEYS);
KOTEL_CG_MAP(sched_switches, __u64, SCHED_MAX_CGROUP_KEYS);
KOTEL_CG_MAP(sched_migrations, __u64, SCHED_MAX_CGROUP_KEYS);

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sched_task);
} sched_task SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH); /* dead pids age out; no exit hook needed */
	__uint(max_entries, SCHED_MAX_TASKS);
	__type(key, __u32);
	__type(value, struct sched_task);
} sched_task_by_pid SEC(".maps");

KOTEL_DROPS_MAP(sched_drops);

/* ---- shared bodies ---- */

static __always_inline void record(void *hist, __u64 cgroup_id, __u32 kind, __u64 start, __u64 now)
{
	struct kotel_cg_key key = { .cgroup_id = cgroup_id, .kind = kind };

	if ((__s64)(now - start) < 0) /* stamped on another CPU a hair later */
		return;
	kotel_hist_add(hist, &key, now - start, &sched_drops);
}

static __always_inline void count(void *map, __u64 cgroup_id, __u32 kind)
{
	struct kotel_cg_key key = { .cgroup_id = cgroup_id, .kind = kind };

	kotel_counter_add(map, &key, 1, &sched_drops);
}

/* next (t: its state, may be NULL) takes the CPU */
static __always_inline void switch_in(struct sched_task *t, __u64 cgroup_id, __u64 now)
{
	if (!t)
		return;
	if (t->enqueued_ns) {
		record(&sched_runq_hist, cgroup_id, targ_per_cpu ? bpf_get_smp_processor_id() + 1 : 0, t->enqueued_ns,
		       now);
		t->enqueued_ns = 0;
	}
	if (targ_offcpu && t->off_ns) {
		record(&sched_offcpu_hist, cgroup_id, 0, t->off_ns, now);
		t->off_ns = 0;
	}
}

/* ---- tp_btf rungs: trusted task pointers, task storage, plain loads ----
 * Measured on a 6.18 VM (BPF run-time stats, pinned pipe ping-pong): bpf_ktime_get_ns ~65 ns, a hash
 * lookup ~60 ns, bpf_get_current_cgroup_id ~35 ns, a cached task storage lookup ~5-40 ns, a plain load
 * ~0. So the cgroup is read by plain loads, and a voluntary switch is counted at the wakeup that ends it
 * (the woken task's storage is at hand there) instead of touching the departing task's storage. */

static __always_inline __u64 task_cgroup_id_btf(struct task_struct *p)
{
	return p->cgroups->dfl_cgrp->kn->id; /* cgroup v2 id; loads the JIT guards, no helper calls */
}

static __always_inline int wakeup_btf(struct task_struct *p, bool new_task)
{
	struct sched_task *t = bpf_task_storage_get(&sched_task, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (!t) {
		kotel_count_drop(&sched_drops, KOTEL_DROP_TASK_STORAGE);
		return 0;
	}
	/* Still on a CPU (woken before it got to block): not queued by this wakeup. Already stamped: queued
	 * since a preemption, keep the earlier stamp. */
	if (p->on_cpu || t->enqueued_ns)
		return 0;
	t->enqueued_ns = bpf_ktime_get_ns();
	if (!new_task) /* it blocked: the voluntary switch that ends here */
		count(&sched_switches, task_cgroup_id_btf(p), SCHED_SWITCH_VOLUNTARY);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup_btf, struct task_struct *p)
{
	return wakeup_btf(p, false);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new_btf, struct task_struct *p)
{
	return wakeup_btf(p, true);
}

/* sched_switch arguments since Linux 5.18 (prev_state added by commit fa2c3254d7cf); older kernels fail
 * this rung and the raw_tp one at load and use the classic tracepoint. */
SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__u64 now = bpf_ktime_get_ns();
	struct sched_task *t;

	if (preempt || prev_state == TASK_RUNNING) {
		if (prev->pid) { /* not the idle task */
			t = bpf_task_storage_get(&sched_task, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
			if (t)
				t->enqueued_ns = now; /* still runnable: queued from now */
			else
				kotel_count_drop(&sched_drops, KOTEL_DROP_TASK_STORAGE);
			count(&sched_switches, task_cgroup_id_btf(prev), SCHED_SWITCH_INVOLUNTARY);
		}
	} else {
		if (targ_offcpu) {
			t = bpf_task_storage_get(&sched_task, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
			if (t)
				t->off_ns = now;
			else
				kotel_count_drop(&sched_drops, KOTEL_DROP_TASK_STORAGE);
		}
		if (prev_state & TASK_DEAD) /* its last switch: no wakeup will count it */
			count(&sched_switches, task_cgroup_id_btf(prev), SCHED_SWITCH_VOLUNTARY);
	}
	if (next->pid)
		switch_in(bpf_task_storage_get(&sched_task, next, 0, 0), task_cgroup_id_btf(next), now);
	return 0;
}

SEC("tp_btf/sched_migrate_task")
int BPF_PROG(sched_migrate_task_btf, struct task_struct *p, int dest_cpu)
{
	count(&sched_migrations, task_cgroup_id_btf(p), 0);
	return 0;
}

/* ---- raw_tp and tp rungs: untrusted pointers or pids, state in the pid hash ---- */

static __always_inline struct sched_task *task_by_pid(__u32 pid, bool create)
{
	struct sched_task *t = bpf_map_lookup_elem(&sched_task_by_pid, &pid);
	struct sched_task zero = {};

	if (t || !create)
		return t;
	bpf_map_update_elem(&sched_task_by_pid, &pid, &zero, BPF_NOEXIST); /* LRU: evicts, never full */
	t = bpf_map_lookup_elem(&sched_task_by_pid, &pid);
	if (!t)
		kotel_count_drop(&sched_drops, KOTEL_DROP_MAP_FULL);
	return t;
}

static __always_inline int wakeup_pid(__u32 pid)
{
	struct sched_task *t;

	if (!pid)
		return 0;
	t = task_by_pid(pid, true);
	if (t)
		t->enqueued_ns = bpf_ktime_get_ns();
	return 0;
}

static __always_inline __u64 task_cgroup_id_core(struct task_struct *p)
{
	return BPF_CORE_READ(p, cgroups, dfl_cgrp, kn, id);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(sched_wakeup_raw, struct task_struct *p)
{
	return wakeup_pid(BPF_CORE_READ(p, pid));
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new_raw, struct task_struct *p)
{
	return wakeup_pid(BPF_CORE_READ(p, pid));
}

static __always_inline int switch_pid(__u32 prev_pid, bool involuntary, __u32 next_pid, struct task_struct *next)
{
	__u64 now = bpf_ktime_get_ns();
	struct sched_task *t;

	if (prev_pid) {
		__u64 cgroup_id = bpf_get_current_cgroup_id(); /* prev is still current */

		count(&sched_switches, cgroup_id, involuntary);
		t = task_by_pid(prev_pid, involuntary || targ_offcpu || !next);
		if (t) {
			if (!next)
				t->cgroup_id = cgroup_id; /* tp rung: remembered for switch-in */
			if (involuntary) {
				t->enqueued_ns = now;
			} else {
				t->enqueued_ns = 0; /* a wakeup that raced with it still running stamped it */
				if (targ_offcpu)
					t->off_ns = now;
			}
		}
	}
	if (next_pid) {
		t = task_by_pid(next_pid, false);
		if (t)
			switch_in(t, next ? task_cgroup_id_core(next) : t->cgroup_id, now);
	}
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	return switch_pid(BPF_CORE_READ(prev, pid), preempt || prev_state == TASK_RUNNING, BPF_CORE_READ(next, pid),
			  next);
}

SEC("raw_tp/sched_migrate_task")
int BPF_PROG(sched_migrate_task_raw, struct task_struct *p, int dest_cpu)
{
	count(&sched_migrations, task_cgroup_id_core(p), 0);
	return 0;
}

/* Classic tracepoints carry pids only: the cgroup of a task that is not current is the one remembered
 * at its last switch-out (0 before that). */
SEC("tp/sched/sched_wakeup")
int sched_wakeup_tp(struct trace_event_raw_sched_wakeup_template *ctx)
{
	return wakeup_pid(ctx->pid);
}

SEC("tp/sched/sched_wakeup_new")
int sched_wakeup_new_tp(struct trace_event_raw_sched_wakeup_template *ctx)
{
	return wakeup_pid(ctx->pid);
}

SEC("tp/sched/sched_switch")
int sched_switch_tp(struct trace_event_raw_sched_switch *ctx)
{
	return switch_pid(ctx->prev_pid, !(ctx->prev_state & TASK_REPORT_MASK), ctx->next_pid, NULL);
}

SEC("tp/sched/sched_migrate_task")
int sched_migrate_task_tp(struct trace_event_raw_sched_migrate_task *ctx)
{
	struct sched_task *t = task_by_pid(ctx->pid, false);

	count(&sched_migrations, t ? t->cgroup_id : 0, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
