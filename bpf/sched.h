/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Scheduler family ABI: maps and records shared by sched.bpf.c and agent/src/probes/sched/. */
#ifndef KOTEL_SCHED_H
#define KOTEL_SCHED_H

#include "kotel.h"

/* Per-cgroup maps (BPF_MAP_TYPE_PERCPU_HASH, key struct kotel_cg_key), all by the task's own cgroup:
 *   sched_runq_hist     value struct kotel_hist; kind 0, or cpu + 1 when targ_per_cpu. Run-queue delay, ns:
 *                       wakeup (or preemption) -> on CPU.
 *   sched_offcpu_hist   value struct kotel_hist; kind 0. Off-CPU time, ns: voluntary switch-out -> back on
 *                       CPU (only when targ_offcpu).
 *   sched_switches      value __u64; kind = enum sched_switch_kind, of the task leaving the CPU.
 *   sched_migrations    value __u64; kind 0.
 * Per-task state: task storage sched_task (tp_btf rungs) or the pid-keyed hash sched_task_by_pid (raw_tp
 * and tp rungs), value struct sched_task.
 * Drops: sched_drops (KOTEL_DROPS_MAP). */
#define SCHED_MAX_CGROUP_KEYS 10240 /* per-cgroup maps: cgroups x kinds */
#define SCHED_MAX_TASKS 65536	    /* sched_task_by_pid: threads tracked at once (raw_tp/tp rungs only) */

enum sched_switch_kind {
	SCHED_SWITCH_VOLUNTARY = 0,   /* the task blocked (prev_state != TASK_RUNNING) */
	SCHED_SWITCH_INVOLUNTARY = 1, /* the task was preempted or yielded and stays runnable */
};

struct sched_task {
	__u64 enqueued_ns; /* CLOCK_MONOTONIC when the task became runnable; 0: not waiting */
	__u64 off_ns;	   /* CLOCK_MONOTONIC of its last voluntary switch-out; 0: none pending */
	__u64 cgroup_id;   /* tp rung only: the task's cgroup, learned when it last left a CPU */
};

#endif
