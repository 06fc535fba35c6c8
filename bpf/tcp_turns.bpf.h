/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* TCP family, request/response turns (targ_request_latency): included by tcp.bpf.c after its maps
 * (tcp_socks, tcp_request_hist, tcp_response_hist, tcp_drops) and knobs. Data arrival comes from tcp_probe
 * (turn_data_in, segment_payload); sends from the programs here. */
#ifndef KOTEL_TCP_TURNS_BPF_H
#define KOTEL_TCP_TURNS_BPF_H

/* A turn ends: one client request (data sent -> data back) or one server response (data in -> data sent
 * back) of d ns, into the cgroup's histogram and the connection's own stats. */
static __always_inline void turn_end(struct tcp_sock_info *info, void *hist, __u64 now)
{
	struct kotel_cg_key key = { .cgroup_id = info->cgroup_id, .kind = info->server_port };
	__u64 d = now - info->turn_ns, us = d / 1000;

	info->turn_ns = 0;
	kotel_hist_add(hist, &key, d, &tcp_drops);
	if (!info->turns.count || d < info->turns.min_ns)
		info->turns.min_ns = d;
	if (d > info->turns.max_ns)
		info->turns.max_ns = d;
	info->turns.count += 1;
	info->turns.sum_ns += d;
	info->turns.sumsq_us2 += us * us;
}

/* Data arrived on an established socket (tcp_probe with payload): a client's reply ends its request, a
 * server's request starts its response. Plain updates: tcp_probe runs under the socket lock; a send on
 * another CPU may race one turn (a lost or doubled turn, never a bad pointer). */
static __always_inline void turn_data_in(const struct sock *sk)
{
	__u64 skaddr = (unsigned long)sk;
	struct tcp_sock_info *info = bpf_map_lookup_elem(&tcp_socks, &skaddr);

	if (!info)
		return;
	if (info->open_kind == TCP_OPEN_ACTIVE) {
		if (info->turn_ns)
			turn_end(info, &tcp_request_hist, bpf_ktime_get_ns());
	} else if (info->open_kind == TCP_OPEN_PASSIVE && !info->turn_ns) {
		info->turn_ns = bpf_ktime_get_ns();
	}
}

/* The application sends on a socket: a client's request starts, a server's response ends. */
static __always_inline int turn_data_out(const struct sock *sk)
{
	__u64 skaddr = (unsigned long)sk;
	struct tcp_sock_info *info = bpf_map_lookup_elem(&tcp_socks, &skaddr);

	if (!info)
		return 0;
	if (info->open_kind == TCP_OPEN_ACTIVE) {
		if (!info->turn_ns)
			info->turn_ns = bpf_ktime_get_ns();
	} else if (info->open_kind == TCP_OPEN_PASSIVE && info->turn_ns) {
		turn_end(info, &tcp_response_hist, bpf_ktime_get_ns());
	}
	return 0;
}

/* Payload bytes of the segment tcp_rcv_established() gets: skb->data is its TCP header there (as the
 * tracepoint's own data_len has it), doff in the high nibble of byte 12. */
static __always_inline __u32 segment_payload(const struct sk_buff *skb, bool btf)
{
	unsigned char *data = btf ? skb->data : BPF_CORE_READ(skb, data);
	__u32 len = btf ? skb->len : BPF_CORE_READ(skb, len);
	__u8 doff = 0;

	bpf_probe_read_kernel(&doff, 1, data + 12);
	doff = (doff >> 4) * 4;
	return len > doff ? len - doff : 0;
}

/* tcp_sendmsg(sk, msg, size): fentry first, kprobe fallback (kernels without trampolines). */
SEC("fentry")
int BPF_PROG(tcp_sendmsg_fentry, struct sock *sk)
{
	return turn_data_out(sk);
}

SEC("kprobe")
int BPF_KPROBE(tcp_sendmsg_kprobe, struct sock *sk)
{
	return turn_data_out(sk);
}

/* sock_send_length(sk, ret, flags) (6.3+): after every socket send, any protocol. */
SEC("tp_btf/sock_send_length")
int BPF_PROG(sock_send_length_btf, struct sock *sk, int ret)
{
	if (ret <= 0 || sk->sk_protocol != IPPROTO_TCP)
		return 0;
	return turn_data_out(sk);
}

SEC("raw_tp/sock_send_length")
int BPF_PROG(sock_send_length_raw, struct sock *sk, int ret)
{
	if (ret <= 0 || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	return turn_data_out(sk);
}

#endif
