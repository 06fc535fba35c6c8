/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Kernel-drift shims: one helper per layout that moved between kernels, each citing the kernel change.
 * Include after vmlinux.h and bpf_core_read.h. The BPF ring buffer needs Linux >= 5.8, so layouts older than
 * that are not handled. */
#ifndef KOTEL_CORE_FIXES_BPF_H
#define KOTEL_CORE_FIXES_BPF_H

/* struct sock_cgroup_data before Linux 5.15: a union whose u64 `val` is the cgroup v2 pointer unless its low
 * bit (is_data) says it holds net_prio/net_cls data instead (cgroup v1 controllers in use: then the v2 cgroup
 * is lost and we report 0). Replaced by an explicit `struct cgroup *cgroup` in commit 8520e224f547
 * ("bpf, cgroups: Fix cgroup v2 fallback on v1/v2 mixed mode", v5.15). */
struct sock_cgroup_data___pre515 {
	union {
		__u64 val;
	};
} __attribute__((preserve_access_index));

struct sock___pre515 {
	struct sock_cgroup_data___pre515 sk_cgrp_data;
} __attribute__((preserve_access_index));

/* cgroup v2 id (inode number of the cgroup2 directory) that the socket was charged to at creation (accepted
 * sockets inherit the listener's). Works in softirq, unlike bpf_get_current_cgroup_id(). 0 if unknown. */
static __always_inline __u64 kotel_sock_cgroup_id(const struct sock *sk)
{
	struct cgroup *cgrp;

	if (bpf_core_field_exists(sk->sk_cgrp_data.cgroup)) {
		cgrp = BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
	} else {
		__u64 val = BPF_CORE_READ((struct sock___pre515 *)sk, sk_cgrp_data.val);

		if (val & 1)
			return 0;
		cgrp = (struct cgroup *)(unsigned long)val;
	}
	if (!cgrp)
		return 0;
	return BPF_CORE_READ(cgrp, kn, id);
}

/* kotel_sock_cgroup_id for a trusted BTF socket pointer (tp_btf arguments): the same fields through plain
 * loads, which the verifier turns into fault-safe ones, instead of one bpf_probe_read_kernel call each. */
static __always_inline __u64 kotel_sock_cgroup_id_btf(const struct sock *sk)
{
	struct cgroup *cgrp;

	if (!bpf_core_field_exists(sk->sk_cgrp_data.cgroup))
		return kotel_sock_cgroup_id(sk); /* the pre-5.15 pointer is a scalar to the verifier */
	cgrp = sk->sk_cgrp_data.cgroup;
	if (!cgrp)
		return 0;
	return cgrp->kn->id;
}

/* The classic tcp:tcp_probe event gained the socket address (`skaddr`) only in recent kernels (present on
 * 6.18; absent on 5.x, whose format ends at sock_cookie). Without it the tp rung cannot name the socket's
 * cgroup: the caller reports cgroup 0 and skips per-socket stats. */
static __always_inline const struct sock *kotel_tcp_probe_tp_sk(struct trace_event_raw_tcp_probe *ctx)
{
	if (bpf_core_field_exists(ctx->skaddr))
		return (const struct sock *)ctx->skaddr; /* direct ctx read, offset relocated by CO-RE */
	return (const struct sock *)0;
}

/* The classic tcp:tcp_retransmit_skb event was an event of the class tcp_event_sk_skb (record struct
 * trace_event_raw_tcp_event_sk_skb; `state` since 4.20) until it became a TRACE_EVENT of its own with an `err`
 * field (struct trace_event_raw_tcp_retransmit_skb: on 6.12 and 6.18, not on Debian's 6.1, seen in the kernel
 * matrix). Both start with skbaddr, skaddr, state; CO-RE relocates whichever the kernel has. */
struct trace_event_raw_tcp_event_sk_skb___kotel {
	const void *skaddr;
	int state;
} __attribute__((preserve_access_index));

/* Probe reads, not direct ctx loads: clang merges the two flavours into one load through a computed ctx
 * pointer, which the verifier refuses ("dereference of modified ctx ptr"). Retransmits are rare. */
static __always_inline const struct sock *kotel_tcp_retransmit_tp_sk(void *ctx, __u32 *state)
{
	if (bpf_core_type_exists(struct trace_event_raw_tcp_retransmit_skb)) {
		struct trace_event_raw_tcp_retransmit_skb *e = ctx;

		*state = BPF_CORE_READ(e, state);
		return (const struct sock *)BPF_CORE_READ(e, skaddr);
	}
	struct trace_event_raw_tcp_event_sk_skb___kotel *e = ctx;

	*state = BPF_CORE_READ(e, state);
	return (const struct sock *)BPF_CORE_READ(e, skaddr);
}

#endif
