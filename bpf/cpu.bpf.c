// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* CPU family: CFS bandwidth throttling per cgroup (cpu.max), at the return of throttle_cfs_rq and around
 * unthrottle_cfs_rq (fexit, fentry: neither has a tracepoint). Maps: cpu.h. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kotel.bpf.h"
#include "cpu.h"

KOTEL_CG_MAP(cpu_throttle_hist, struct kotel_hist, CPU_MAX_CGROUP_KEYS);
KOTEL_CG_MAP(cpu_throttled_periods, __u64, CPU_MAX_CGROUP_KEYS);
KOTEL_DROPS_MAP(cpu_drops);

/* the unthrottle under way on this CPU (under the run queue's lock, interrupts off: one at a time): its
 * run queue, the clock its throttle started at, its cgroup */
struct cpu_unthrottle {
	__u64 cfs_rq;
	__u64 clock;
	__u64 cgroup_id;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_unthrottle);
} cpu_unthrottling SEC(".maps");

/* (cgroup, the bandwidth's nr_periods) of periods counted: the one CPU whose insert makes the key counts
 * it; an LRU forgets old periods */
struct cpu_period_key {
	__u64 cgroup_id;
	__u64 period;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CPU_MAX_PERIODS_SEEN);
	__type(key, struct cpu_period_key);
	__type(value, __u8);
} cpu_periods_seen SEC(".maps");

static __always_inline __u64 group_cgroup_id(struct cfs_rq *cfs_rq)
{
	return cfs_rq->tg->css.cgroup->kn->id;
}

SEC("fexit")
int BPF_PROG(throttle_cfs_rq_exit, struct cfs_rq *cfs_rq, bool throttled)
{
	struct cpu_period_key period;
	struct kotel_cg_key key = {};
	__u8 seen = 1;

	if (!throttled)
		return 0;
	key.cgroup_id = group_cgroup_id(cfs_rq);
	period.cgroup_id = key.cgroup_id;
	period.period = cfs_rq->tg->cfs_bandwidth.nr_periods;
	if (!bpf_map_update_elem(&cpu_periods_seen, &period, &seen, BPF_NOEXIST))
		kotel_counter_add(&cpu_throttled_periods, &key, 1, &cpu_drops);
	return 0;
}

/* The throttle's start as the kernel took it: throttled_clock, which 6.6+ sets only once the run queue has a
 * task queued (at the throttle, or at a later enqueue) and clears in unthrottle_cfs_rq, so read here. */
SEC("fentry")
int BPF_PROG(unthrottle_cfs_rq_entry, struct cfs_rq *cfs_rq)
{
	__u32 zero = 0;
	struct cpu_unthrottle *u = bpf_map_lookup_elem(&cpu_unthrottling, &zero);

	if (!u)
		return 0;
	u->cfs_rq = (__u64)cfs_rq;
	u->clock = cfs_rq->throttled_clock;
	u->cgroup_id = group_cgroup_id(cfs_rq);
	return 0;
}

/* unthrottle_cfs_rq updated the run queue's clock and added clock - throttled_clock to the bandwidth's
 * throttled_time (cpu.stat's throttled_usec): the same difference here */
SEC("fexit")
int BPF_PROG(unthrottle_cfs_rq_exit, struct cfs_rq *cfs_rq)
{
	__u32 zero = 0;
	struct cpu_unthrottle *u = bpf_map_lookup_elem(&cpu_unthrottling, &zero);
	struct kotel_cg_key key = {};
	__u64 now;

	if (!u || u->cfs_rq != (__u64)cfs_rq || !u->clock)
		return 0;
	now = cfs_rq->rq->clock;
	key.cgroup_id = u->cgroup_id;
	if (now > u->clock)
		kotel_hist_add(&cpu_throttle_hist, &key, now - u->clock, &cpu_drops);
	u->cfs_rq = 0;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
