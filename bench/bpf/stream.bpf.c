// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Synthetic event source for the streaming benchmark: each getpgid(STREAM_MAGIC | n) call submits n
 * struct stream_event records to the stream_events ring buffer (kotel_ringbuf_submit's wake-up policy, as
 * the families use), counting what was produced and what was lost. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kotel.bpf.h"
#include "stream.h"

struct stream_event _stream_event = {}; /* keeps the record type in BTF for layout() */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} stream_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} stream_stats SEC(".maps");

static long emit(__u64 i, void *arg)
{
	__u32 produced = STREAM_PRODUCED, dropped = STREAM_DROPPED;
	__u64 *n = bpf_map_lookup_elem(&stream_stats, &produced);
	struct stream_event *e;

	if (!n)
		return 1;
	e = bpf_ringbuf_reserve(&stream_events, sizeof(*e), 0);
	if (!e) {
		n = bpf_map_lookup_elem(&stream_stats, &dropped);
		if (n)
			*n += 1;
		return 0;
	}
	*n += 1;
	e->seq = *n;
	e->ts_ns = bpf_ktime_get_ns();
	e->cpu = bpf_get_smp_processor_id();
	e->n = *(__u32 *)arg;
	e->payload[0] = i;
	e->payload[1] = 0;
	e->payload[2] = 0;
	kotel_ringbuf_submit(&stream_events, e);
	return 0;
}

SEC("tp/syscalls/sys_enter_getpgid")
int stream_tp(struct trace_event_raw_sys_enter *ctx)
{
	long arg = ctx->args[0];
	__u32 n;

	if ((arg & ~(long)STREAM_COUNT_MASK) != STREAM_MAGIC)
		return 0;
	n = arg & STREAM_COUNT_MASK;
	if (n > STREAM_MAX_PER_CALL)
		n = STREAM_MAX_PER_CALL;
	bpf_loop(n, emit, &n, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
