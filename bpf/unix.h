/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unix-socket family ABI: maps shared by unix.bpf.c and agent/src/probes/unix/. */
#ifndef KOTEL_UNIX_H
#define KOTEL_UNIX_H

#include "kotel.h"

/* Per-cgroup histograms (BPF_MAP_TYPE_PERCPU_HASH, key struct kotel_cg_key, kind 0, value struct
 * kotel_hist), by the cgroup of the task whose receive or send ends the turn, on connected Unix stream
 * sockets:
 *   unix_request_hist   client side: from a send after the last data received to the next data received
 *   unix_response_hist  server side: from data received after the last send to the next send
 * The sides (enum unix_role) come from the sockets' names: a server's accepted socket carries the name of
 * its listener, a client's none (or an autobound one).
 * Drops: unix_drops (KOTEL_DROPS_MAP). */
#define UNIX_MAX_CGROUP_KEYS 10240
#define UNIX_MAX_SOCKETS 16384 /* unix_socks, an LRU hash of the sockets' turn state */

enum unix_role {
	UNIX_ROLE_NONE = 0, /* neither side named (a socketpair), or both: not measured */
	UNIX_ROLE_CLIENT = 1,
	UNIX_ROLE_SERVER = 2,
};

#endif
