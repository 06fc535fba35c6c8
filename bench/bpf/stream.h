/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* ABI of the streaming benchmark's synthetic event source (stream.bpf.c, bench/workloads/trigger.c,
 * bench/streamConsumer.ts). */
#ifndef BENCH_STREAM_H
#define BENCH_STREAM_H

/* getpgid(STREAM_MAGIC | n) asks for n records; no real pid has these bits set. */
#define STREAM_MAGIC 0x3b000000
#define STREAM_COUNT_MASK 0x00ffffff
#define STREAM_MAX_PER_CALL 4096 /* records per call: bounds the bpf_loop */

/* Indices of the stream_stats per-CPU array. */
#define STREAM_PRODUCED 0 /* records submitted */
#define STREAM_DROPPED 1  /* bpf_ringbuf_reserve failed: the consumer fell behind */

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* About the size of a lifecycle record (an RDMA verb or a TCP close carries 48-160 bytes). */
struct stream_event {
	__u64 seq;   /* this CPU's produced count at submit */
	__u64 ts_ns; /* CLOCK_MONOTONIC */
	__u32 cpu;
	__u32 n; /* records asked for by the call */
	__u64 payload[3];
};

#endif
