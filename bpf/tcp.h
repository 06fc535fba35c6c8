/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* TCP family ABI: maps and records shared by tcp.bpf.c and agent/src/probes/tcp/. */
#ifndef KOTEL_TCP_H
#define KOTEL_TCP_H

#include "kotel.h"

/* Per-cgroup maps (BPF_MAP_TYPE_PERCPU_HASH, key struct kotel_cg_key):
 *   tcp_rtt_hist       value struct kotel_hist; kind 0. Smoothed RTT (srtt) of each tcp_probe event, ns.
 *   tcp_connect_hist   value struct kotel_hist; kind = 0 when SYN_SENT -> ESTABLISHED, else the socket's
 *                      sk_err (ECONNREFUSED, ETIMEDOUT, ...) when SYN_SENT -> CLOSE. Duration from SYN_SENT, ns.
 *   tcp_retransmits    value __u64; kind = TCP state of the socket at the retransmit (TCP_SYN_SENT = 2 ...).
 *   tcp_lifecycle      value __u64; kind = enum tcp_lifecycle_kind.
 *   tcp_request_hist   value struct kotel_hist; kind = the server's port. Client side (sockets that connected):
 *                      first byte sent after the last data received -> the next data received, ns.
 *   tcp_response_hist  value struct kotel_hist; kind = the server's (local) port. Server side (accepted
 *                      sockets): first data received after the last send -> the next send, ns.
 * Per-socket map (BPF_MAP_TYPE_HASH, key __u64 socket address, value struct tcp_sock_info):
 *   tcp_socks          every TCP socket seen changing state since the agent started, with its current
 *                      state; user space counts live connections by (cgroup, state) from it.
 * Ring buffer tcp_events: struct tcp_close_event, one per socket reaching CLOSE (only when targ_close_events).
 * Drops: tcp_drops (KOTEL_DROPS_MAP). */
#define TCP_MAX_CGROUP_KEYS 10240 /* per-cgroup maps: cgroups x kinds */
#define TCP_MAX_SOCKS 65536	  /* tcp_socks: live sockets tracked at once */

enum tcp_lifecycle_kind {
	TCP_LC_OPEN_ACTIVE = 1,	   /* SYN_SENT -> ESTABLISHED (connect) */
	TCP_LC_OPEN_PASSIVE = 2,   /* SYN_RECV -> ESTABLISHED (accept) */
	TCP_LC_CONNECT_FAILED = 3, /* SYN_SENT -> CLOSE */
	TCP_LC_CLOSE = 4,	   /* any other state -> CLOSE */
};

enum tcp_open_kind {
	TCP_OPEN_UNKNOWN = 0, /* the socket existed before the agent started */
	TCP_OPEN_ACTIVE = 1,
	TCP_OPEN_PASSIVE = 2,
};

struct tcp_tuple {
	__u8 saddr[16]; /* IPv4 in the first 4 bytes, network order */
	__u8 daddr[16];
	__u16 sport;  /* host order */
	__u16 dport;  /* host order */
	__u16 family; /* AF_INET = 2, AF_INET6 = 10 */
	__u16 _pad;
};

struct tcp_turns {
	__u64 count;
	__u64 sum_ns;
	__u64 sumsq_us2; /* sum of squares in us^2: no overflow below ~10^7 waits of 1 s */
	__u64 min_ns;
	__u64 max_ns;
};

struct tcp_sock_info {
	__u64 start_ns;	  /* CLOCK_MONOTONIC of the first state change seen */
	__u64 cgroup_id;  /* cgroup v2 id of the socket (sk->sk_cgrp_data) */
	__u64 rtt_sum_us; /* sum of srtt samples (us), when targ_close_events */
	__u32 rtt_count;
	__u32 rtt_min_us;
	__u32 rtt_max_us;
	__u32 retransmits;
	__u32 state;	 /* current TCP state (TCP_ESTABLISHED = 1 ...) */
	__u32 open_kind; /* enum tcp_open_kind */
	__u32 pid;	 /* tgid that called connect(); 0 for passive and unknown opens */
	__u8 comm[16];
	__u32 server_port; /* the peer's port for active opens, the local one for passive opens (host order) */
	/* Request/response turns (targ_request_latency): when the current wait began (0: not waiting), and the
	 * connection's waits so far (client: requests, server: responses). */
	__u64 turn_ns;
	struct tcp_turns turns;
	struct tcp_tuple tuple; /* at ESTABLISHED (targ_request_latency), for the report's connection list */
};

struct tcp_close_event {
	__u64 start_ns; /* CLOCK_MONOTONIC */
	__u64 end_ns;	/* CLOCK_MONOTONIC */
	__u64 cgroup_id;
	__u64 bytes_acked;
	__u64 bytes_received;
	__u64 rtt_sum_us;
	__u32 rtt_count;
	__u32 rtt_min_us;
	__u32 rtt_max_us;
	__u32 retransmits;
	__u32 open_kind; /* enum tcp_open_kind */
	__u32 old_state; /* state before CLOSE: SYN_SENT means the connect failed */
	__u32 sk_err;	 /* socket error at close (errno), 0 if none */
	__u32 pid;
	__u8 comm[16];
	struct tcp_tuple tuple;
	struct tcp_turns turns; /* the connection's request (active) or response (passive) waits */
};

#endif
