// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* TCP family: RTT (tcp_probe), connect latency and lifecycle (inet_sock_set_state), retransmits
 * (tcp_retransmit_skb), request/response latency (tcp_probe's payload + a send hook: tcp_sendmsg or
 * sock_send_length), and optional per-connection close events. Maps and records: tcp.h.
 *
 * Every probe has a hook ladder of three programs, <probe>_btf (tp_btf), <probe>_raw (raw_tp) and <probe>_tp
 * (classic tracepoint, needs tracefs); the loader autoloads the first rung that works and disables the rest.
 * Program names longer than 15 characters are truncated in the kernel (bpftool shows "inet_sock_set_s");
 * look them up by their object name through libbpf.
 *
 * Verifier notes: raw_tp and classic-tp socket pointers are untrusted scalars, so every kernel read goes
 * through BPF_CORE_READ (bpf_probe_read_kernel); only the tp ctx fields are read directly (CO-RE relocated
 * offsets). tp_btf sockets are BTF pointers: their hot-path fields are plain loads (the `btf` flag of the
 * shared handlers picks the reader; the close path keeps BPF_CORE_READ, it runs once per socket). On 6.18.44 all three rungs load and pass the verifier with every knob combination tried. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "kotel.bpf.h"
#include "tcp.h"
#include "core_fixes.bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define EEXIST 17
#define ECONNABORTED 103 /* asm-generic errno, as on x86 */

/* Knob, set by the loader before load; the verifier prunes what it switches off. */
const volatile bool targ_close_events = false;	  /* per-socket stats in tcp_socks + tcp_close_event at CLOSE */
const volatile bool targ_request_latency = false; /* request/response turns: tcp_probe data + the send hook */

KOTEL_EXPORT_TYPE(struct tcp_close_event, tcp_close_event);
KOTEL_EXPORT_TYPE(struct tcp_sock_info, tcp_sock_info);

/* Per-cgroup maps (see KOTEL_CG_MAP for why they are not preallocated). */
KOTEL_CG_MAP(tcp_rtt_hist, struct kotel_hist, TCP_MAX_CGROUP_KEYS);
KOTEL_CG_MAP(tcp_connect_hist, struct kotel_hist, TCP_MAX_CGROUP_KEYS);
KOTEL_CG_MAP(tcp_retransmits, __u64, TCP_MAX_CGROUP_KEYS);
KOTEL_CG_MAP(tcp_lifecycle, __u64, TCP_MAX_CGROUP_KEYS);
KOTEL_CG_MAP(tcp_request_hist, struct kotel_hist, TCP_MAX_CGROUP_KEYS);
KOTEL_CG_MAP(tcp_response_hist, struct kotel_hist, TCP_MAX_CGROUP_KEYS);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCP_MAX_SOCKS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64); /* struct sock address */
	__type(value, struct tcp_sock_info);
} tcp_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} tcp_events SEC(".maps");

KOTEL_DROPS_MAP(tcp_drops);

#include "tcp_turns.bpf.h"

/* ---- tcp_probe: the hot path (every incoming segment on an established socket). ---- */

static __always_inline int handle_tcp_probe(const struct sock *sk, __u32 srtt_us, __u32 payload, bool btf)
{
	struct kotel_cg_key key = {};

	if (targ_request_latency && sk && payload)
		turn_data_in(sk);
	if (!srtt_us) /* no RTT sample yet */
		return 0;
	if (sk)
		key.cgroup_id = btf ? kotel_sock_cgroup_id_btf(sk) : kotel_sock_cgroup_id(sk);
	kotel_hist_add(&tcp_rtt_hist, &key, (__u64)srtt_us * 1000, &tcp_drops);

	if (targ_close_events && sk) {
		__u64 skaddr = (unsigned long)sk;
		struct tcp_sock_info *info = bpf_map_lookup_elem(&tcp_socks, &skaddr);

		/* Plain updates: tcp_probe and the retransmit path both run under the socket lock. */
		if (info) {
			if (!info->rtt_count || srtt_us < info->rtt_min_us)
				info->rtt_min_us = srtt_us;
			if (srtt_us > info->rtt_max_us)
				info->rtt_max_us = srtt_us;
			info->rtt_sum_us += srtt_us;
			info->rtt_count += 1;
		}
	}
	return 0;
}

/* tp_btf arguments are trusted BTF pointers: plain loads (made fault-safe by the verifier) instead of a
 * bpf_probe_read_kernel call per field; bpf_skc_to_tcp_sock gives the tcp_sock view the verifier accepts. */
SEC("tp_btf/tcp_probe")
int BPF_PROG(tcp_probe_btf, struct sock *sk, const struct sk_buff *skb)
{
	struct tcp_sock *tp;

	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return 0;
	return handle_tcp_probe(sk, tp->srtt_us >> 3, targ_request_latency ? segment_payload(skb, true) : 0, true);
}

SEC("raw_tp/tcp_probe")
int BPF_PROG(tcp_probe_raw, struct sock *sk, const struct sk_buff *skb)
{
	return handle_tcp_probe(sk, BPF_CORE_READ((struct tcp_sock *)sk, srtt_us) >> 3,
				targ_request_latency ? segment_payload(skb, false) : 0, false);
}

SEC("tp/tcp/tcp_probe")
int tcp_probe_tp(struct trace_event_raw_tcp_probe *ctx)
{
	/* The classic event's srtt is already srtt_us >> 3; data_len is the payload. */
	return handle_tcp_probe(kotel_tcp_probe_tp_sk(ctx), ctx->srtt, ctx->data_len, false);
}

/* ---- inet_sock_set_state: lifecycle, connect latency, live sockets, close events. ---- */

/* Error of a socket reaching CLOSE. tcp_reset() (RST -> ECONNREFUSED) and tcp_write_err() (SYN retries
 * exhausted -> ETIMEDOUT, or the ICMP error kept in sk_err_soft) set sk_err before tcp_done() moves the
 * socket to CLOSE, so sk_err holds it here; sk_err_soft is the fallback for paths that only set the soft
 * error. */
static __always_inline __u32 sock_close_error(const struct sock *sk)
{
	int err = BPF_CORE_READ(sk, sk_err);

	if (!err)
		err = BPF_CORE_READ(sk, sk_err_soft);
	return err > 0 ? err : 0;
}

static __always_inline void fill_tuple(struct tcp_tuple *t, const struct sock *sk)
{
	t->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	/* Not skc_num: tcp_set_state(TCP_CLOSE) calls inet_put_port(), which zeroes it before the tracepoint. */
	t->sport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	t->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (t->family == AF_INET6) {
		/* v4-mapped peers of AF_INET6 sockets stay as ::ffff:a.b.c.d, as the socket holds them. */
		BPF_CORE_READ_INTO(&t->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&t->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	} else {
		BPF_CORE_READ_INTO((__u32 *)t->saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)t->daddr, sk, __sk_common.skc_daddr);
	}
}

static __always_inline void emit_close_event(const struct sock *sk, struct tcp_sock_info *info, __u64 cgroup_id,
					     __u32 oldstate, __u64 now)
{
	struct tcp_close_event *e;

	e = bpf_ringbuf_reserve(&tcp_events, sizeof(*e), 0);
	if (!e) {
		kotel_count_drop(&tcp_drops, KOTEL_DROP_RINGBUF_FULL);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e)); /* ring buffer memory is not zeroed: no stale padding */
	e->end_ns = now;
	e->cgroup_id = cgroup_id;
	e->bytes_acked = BPF_CORE_READ((struct tcp_sock *)sk, bytes_acked);
	e->bytes_received = BPF_CORE_READ((struct tcp_sock *)sk, bytes_received);
	e->old_state = oldstate;
	e->sk_err = BPF_CORE_READ(sk, sk_err);
	if (info) {
		e->start_ns = info->start_ns;
		e->rtt_sum_us = info->rtt_sum_us;
		e->rtt_count = info->rtt_count;
		e->rtt_min_us = info->rtt_min_us;
		e->rtt_max_us = info->rtt_max_us;
		e->retransmits = info->retransmits;
		e->open_kind = info->open_kind;
		e->pid = info->pid;
		__builtin_memcpy(e->comm, info->comm, sizeof(e->comm));
		e->turns = info->turns;
	}
	fill_tuple(&e->tuple, sk);
	kotel_ringbuf_submit(&tcp_events, e);
}

static __always_inline void lifecycle_add(__u64 cgroup_id, __u32 kind)
{
	struct kotel_cg_key key = { .cgroup_id = cgroup_id, .kind = kind };

	kotel_counter_add(&tcp_lifecycle, &key, 1, &tcp_drops);
}

static __always_inline void connect_add(__u64 cgroup_id, __u32 kind, struct tcp_sock_info *info, __u64 now)
{
	struct kotel_cg_key key = { .cgroup_id = cgroup_id, .kind = kind };

	/* Only sockets whose SYN_SENT we saw (not ones already connecting when the agent started). */
	if (!info || info->open_kind != TCP_OPEN_ACTIVE)
		return;
	kotel_hist_add(&tcp_connect_hist, &key, now - info->start_ns, &tcp_drops);
}

static __always_inline int handle_set_state(const struct sock *sk, int oldstate, int newstate, bool btf)
{
	__u64 skaddr = (unsigned long)sk;
	struct tcp_sock_info *info;
	__u64 now, cgroup_id;

	/* tcp_set_state(TCP_CLOSE) on an already closed socket (e.g. tcp_disconnect) says nothing new. */
	if (oldstate == newstate)
		return 0;
	now = bpf_ktime_get_ns();
	info = bpf_map_lookup_elem(&tcp_socks, &skaddr);
	if (info)
		cgroup_id = info->cgroup_id;
	else
		cgroup_id = btf ? kotel_sock_cgroup_id_btf(sk) : kotel_sock_cgroup_id(sk);

	if (newstate == TCP_CLOSE) {
		if (oldstate == TCP_SYN_SENT) {
			/* A connect aborted by the application (close() while connecting) leaves no
			 * error; ECONNABORTED keeps it apart from kind 0 (connected). */
			__u32 err = sock_close_error(sk);

			lifecycle_add(cgroup_id, TCP_LC_CONNECT_FAILED);
			connect_add(cgroup_id, err ? err : ECONNABORTED, info, now);
		} else {
			lifecycle_add(cgroup_id, TCP_LC_CLOSE);
		}
		if (targ_close_events)
			emit_close_event(sk, info, cgroup_id, oldstate, now);
		if (info)
			bpf_map_delete_elem(&tcp_socks, &skaddr);
		return 0;
	}

	if (info) {
		info->state = newstate;
	} else {
		struct tcp_sock_info new = {
			.start_ns = now,
			.cgroup_id = cgroup_id,
			.state = newstate,
		};
		long ret;

		if (newstate == TCP_SYN_SENT) {
			/* connect() (or a TFO sendmsg) runs in the calling task's context; the
			 * destination is set before the state changes. */
			new.open_kind = TCP_OPEN_ACTIVE;
			new.pid = bpf_get_current_pid_tgid() >> 32;
			bpf_get_current_comm(&new.comm, sizeof(new.comm));
			new.server_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		} else if (newstate == TCP_SYN_RECV || (oldstate == TCP_SYN_RECV && newstate == TCP_ESTABLISHED)) {
			new.open_kind = TCP_OPEN_PASSIVE; /* runs in softirq: no meaningful pid */
			new.server_port = BPF_CORE_READ(sk, __sk_common.skc_num);
		}
		ret = bpf_map_update_elem(&tcp_socks, &skaddr, &new, BPF_NOEXIST);
		if (ret && ret != -EEXIST) /* -E2BIG: full; -EEXIST: another CPU inserted it */
			kotel_count_drop(&tcp_drops, KOTEL_DROP_MAP_FULL);
		info = bpf_map_lookup_elem(&tcp_socks, &skaddr);
	}

	if (newstate == TCP_ESTABLISHED) {
		if (targ_request_latency && info)
			fill_tuple(&info->tuple, sk);
		if (oldstate == TCP_SYN_SENT) {
			lifecycle_add(cgroup_id, TCP_LC_OPEN_ACTIVE);
			connect_add(cgroup_id, 0, info, now);
		} else if (oldstate == TCP_SYN_RECV) {
			lifecycle_add(cgroup_id, TCP_LC_OPEN_PASSIVE);
		}
	}
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(inet_sock_set_state_btf, const struct sock *sk, const int oldstate, const int newstate)
{
	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	return handle_set_state(sk, oldstate, newstate, true);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(inet_sock_set_state_raw, const struct sock *sk, const int oldstate, const int newstate)
{
	/* Also fires for SCTP, DCCP and the MPTCP master socket; MPTCP subflows are IPPROTO_TCP. */
	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	return handle_set_state(sk, oldstate, newstate, false);
}

SEC("tp/sock/inet_sock_set_state")
int inet_sock_set_state_tp(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	return handle_set_state((const struct sock *)ctx->skaddr, ctx->oldstate, ctx->newstate, false);
}

/* ---- tcp_retransmit_skb ---- */

static __always_inline int handle_retransmit(const struct sock *sk, __u32 state, bool btf)
{
	struct kotel_cg_key key = {};

	key.cgroup_id = btf ? kotel_sock_cgroup_id_btf(sk) : kotel_sock_cgroup_id(sk);
	key.kind = state;
	kotel_counter_add(&tcp_retransmits, &key, 1, &tcp_drops);

	if (targ_close_events) {
		__u64 skaddr = (unsigned long)sk;
		struct tcp_sock_info *info = bpf_map_lookup_elem(&tcp_socks, &skaddr);

		if (info)
			info->retransmits += 1;
	}
	return 0;
}

/* Raw arguments on 6.18: (sk, skb, err); err (the retransmit's result) was added after sk and skb, so
 * reading only the first argument is right on every kernel. */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tcp_retransmit_skb_btf, const struct sock *sk, const struct sk_buff *skb)
{
	return handle_retransmit(sk, sk->__sk_common.skc_state, true);
}

SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(tcp_retransmit_skb_raw, const struct sock *sk, const struct sk_buff *skb)
{
	return handle_retransmit(sk, BPF_CORE_READ(sk, __sk_common.skc_state), false);
}

SEC("tp/tcp/tcp_retransmit_skb")
int tcp_retransmit_skb_tp(void *ctx)
{
	const struct sock *sk;
	__u32 state;

	sk = kotel_tcp_retransmit_tp_sk(ctx, &state);
	return handle_retransmit(sk, state, false);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
