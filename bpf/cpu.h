/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* CPU family ABI: maps shared by cpu.bpf.c and agent/src/probes/cpu/. */
#ifndef KOTEL_CPU_H
#define KOTEL_CPU_H

#include "kotel.h"

/* Per-cgroup maps (BPF_MAP_TYPE_PERCPU_HASH, key struct kotel_cg_key, kind 0), by the cgroup whose CFS
 * bandwidth (cpu.max) ran out:
 *   cpu_throttle_hist  (value struct kotel_hist) each throttle of one CPU's run queue of the cgroup, from
 *               throttle_cfs_rq to unthrottle_cfs_rq, on the run queue's clock as the kernel adds it to
 *               cpu.stat's throttled_usec.
 *   cpu_throttled_periods  (value __u64) bandwidth periods in which the cgroup was throttled (cpu.stat's
 *               nr_throttled): the first throttle of a period counts it.
 * Drops: cpu_drops (KOTEL_DROPS_MAP). */
#define CPU_MAX_CGROUP_KEYS 10240
/* (cgroup, period) pairs remembered as counted (an LRU) */
#define CPU_MAX_PERIODS_SEEN 10240

#endif
