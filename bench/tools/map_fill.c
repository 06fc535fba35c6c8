// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Fills (or empties) a BPF map another process holds, by id, from a file of records: the bench's extra
 * series (bench/sections/collection.ts). bpftool's batch mode takes at most 4096 words a line, fewer than a
 * histogram value's bytes. Each record is the key, then (unless deleting) one CPU's value, which a per-CPU
 * map gets on every possible CPU.
 *   map_fill MAP_ID FILE [delete]     exit 0, or 1 with one line on stderr */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int del = argc == 4 && !strcmp(argv[3], "delete");

	if (argc != 3 && !del) {
		fprintf(stderr, "usage: map_fill MAP_ID FILE [delete]\n");
		return 1;
	}
	int fd = bpf_map_get_fd_by_id(atoi(argv[1]));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len)) {
		fprintf(stderr, "map id %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	int percpu = info.type == BPF_MAP_TYPE_PERCPU_HASH || info.type == BPF_MAP_TYPE_PERCPU_ARRAY;
	int cpus = percpu ? libbpf_num_possible_cpus() : 1;
	size_t stride = percpu ? (info.value_size + 7) / 8 * 8 : info.value_size;
	char *key = malloc(info.key_size), *one = malloc(info.value_size), *value = calloc(cpus, stride);
	FILE *f = fopen(argv[2], "rb");
	long n = 0;

	if (!f || !key || !one || !value) {
		fprintf(stderr, "%s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	while (fread(key, info.key_size, 1, f) == 1) {
		int err;

		if (del) {
			err = bpf_map_delete_elem(fd, key);
		} else {
			if (fread(one, info.value_size, 1, f) != 1)
				break;
			for (int c = 0; c < cpus; c++)
				memcpy(value + c * stride, one, info.value_size);
			/* per-CPU entries come from the BPF memory allocator's small per-CPU caches (a few
			 * entries of this size), refilled asynchronously: ENOMEM until it caught up */
			for (int tries = 0;
			     (err = bpf_map_update_elem(fd, key, value, BPF_ANY)) && errno == ENOMEM && tries < 1000;
			     tries++)
				usleep(1000);
		}
		if (err) {
			fprintf(stderr, "record %ld: %s\n", n, strerror(errno));
			return 1;
		}
		n++;
	}
	return 0;
}
