// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unix-socket family: request/response turns on connected Unix stream sockets, at the return of each send
 * and receive (fexit on unix_stream_sendmsg / unix_stream_recvmsg, else the sock_send_length /
 * sock_recv_length tracepoints of 6.3+, which fire for every socket). Maps: unix.h. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kotel.bpf.h"
#include "unix.h"

#define AF_UNIX 1
#define SOCK_STREAM 1
#define MSG_PEEK 2
/* an autobound name: "\0" and 5 hex digits after sun_family (net/unix/af_unix.c, unix_autobind) */
#define UNIX_AUTOBIND_LEN (2 + 6)

KOTEL_CG_MAP(unix_request_hist, struct kotel_hist, UNIX_MAX_CGROUP_KEYS);
KOTEL_CG_MAP(unix_response_hist, struct kotel_hist, UNIX_MAX_CGROUP_KEYS);
KOTEL_DROPS_MAP(unix_drops);

/* a socket's side and its turn under way; peer tells a reused struct sock from the one it was */
struct unix_sock_state {
	__u64 peer;
	__u64 turn_ns; /* 0: no turn under way */
	__u32 role;    /* enum unix_role */
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, UNIX_MAX_SOCKETS);
	__type(key, __u64);
	__type(value, struct unix_sock_state);
} unix_socks SEC(".maps");

/* 0: unnamed, 1: autobound, 2: named (bound, or the listener's name on an accepted socket) */
static __always_inline int name_kind(struct sock *sk)
{
	struct unix_address *addr = BPF_CORE_READ((struct unix_sock *)sk, addr);
	char first = 1;

	if (!addr)
		return 0;
	if (BPF_CORE_READ(addr, len) != UNIX_AUTOBIND_LEN)
		return 2;
	bpf_probe_read_kernel(&first, 1, &addr->name[0].sun_path[0]);
	return first ? 2 : 1;
}

static __always_inline __u32 role_of(struct sock *sk, struct sock *peer)
{
	int mine = name_kind(sk), theirs = name_kind(peer);

	if (mine == 2 && theirs < 2)
		return UNIX_ROLE_SERVER;
	if (theirs == 2 && mine < 2)
		return UNIX_ROLE_CLIENT;
	return UNIX_ROLE_NONE;
}

/* the state of a connected Unix stream socket, made at its first send or receive */
static __always_inline struct unix_sock_state *state_of(struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct unix_sock_state *s, fresh = {};
	struct sock *peer;

	if (BPF_CORE_READ(sk, __sk_common.skc_family) != AF_UNIX || BPF_CORE_READ(sk, sk_type) != SOCK_STREAM)
		return NULL;
	peer = BPF_CORE_READ((struct unix_sock *)sk, peer);
	if (!peer)
		return NULL;
	s = bpf_map_lookup_elem(&unix_socks, &key);
	if (s && s->peer == (__u64)peer)
		return s;
	fresh.peer = (__u64)peer;
	fresh.role = role_of(sk, peer);
	bpf_map_update_elem(&unix_socks, &key, &fresh, BPF_ANY);
	return bpf_map_lookup_elem(&unix_socks, &key);
}

static __always_inline void turn_end(struct unix_sock_state *s, void *hist, __u64 now)
{
	struct kotel_cg_key key = { .cgroup_id = bpf_get_current_cgroup_id() };

	kotel_hist_add(hist, &key, now - s->turn_ns, &unix_drops);
	s->turn_ns = 0;
}

/* the application sent: a client's request starts, a server's response ends */
static __always_inline int on_send(struct sock *sk, int ret)
{
	struct unix_sock_state *s;

	if (ret <= 0 || !(s = state_of(sk)))
		return 0;
	if (s->role == UNIX_ROLE_CLIENT && !s->turn_ns)
		s->turn_ns = bpf_ktime_get_ns();
	else if (s->role == UNIX_ROLE_SERVER && s->turn_ns)
		turn_end(s, &unix_response_hist, bpf_ktime_get_ns());
	return 0;
}

/* the application received data: a client's reply ends its request, a server's request starts its
 * response */
static __always_inline int on_recv(struct sock *sk, int ret, int flags)
{
	struct unix_sock_state *s;

	if (ret <= 0 || (flags & MSG_PEEK) || !(s = state_of(sk)))
		return 0;
	if (s->role == UNIX_ROLE_CLIENT && s->turn_ns)
		turn_end(s, &unix_request_hist, bpf_ktime_get_ns());
	else if (s->role == UNIX_ROLE_SERVER && !s->turn_ns)
		s->turn_ns = bpf_ktime_get_ns();
	return 0;
}

SEC("fexit")
int BPF_PROG(unix_stream_sendmsg_exit, struct socket *sock, struct msghdr *msg, size_t len, int ret)
{
	return on_send(sock->sk, ret);
}

SEC("fexit")
int BPF_PROG(unix_stream_recvmsg_exit, struct socket *sock, struct msghdr *msg, size_t size, int flags, int ret)
{
	return on_recv(sock->sk, ret, flags);
}

KOTEL_BTF_AND_RAW(sock_send_length, on_send(sk, ret), struct sock *sk, int ret, int flags)
KOTEL_BTF_AND_RAW(sock_recv_length, on_recv(sk, ret, flags), struct sock *sk, int ret, int flags)

char LICENSE[] SEC("license") = "Dual BSD/GPL";
