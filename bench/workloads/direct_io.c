/* THREADS threads each rewriting 4 KiB blocks of its own 1 MiB file with O_DIRECT: one block request per
 * write, and a disk interrupt per completion (the blockio and interrupts families). The files live in
 * /var/tmp (a disk on Debian; /tmp may be tmpfs, which has no O_DIRECT) and are unlinked at once.
 * ops = writes, all threads. Usage: direct_io SECONDS [THREADS] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>
#include "common.h"

#define BLOCK 4096
#define BLOCKS 256

static void *worker(void *arg)
{
	char path[] = "/var/tmp/kotel-bench-dio-XXXXXX";
	unsigned long n = 0;
	void *buf = NULL;
	int tmp = mkstemp(path), fd = tmp < 0 ? -1 : open(path, O_RDWR | O_DIRECT);

	if (tmp >= 0) {
		unlink(path);
		close(tmp);
	}
	if (fd >= 0 && posix_memalign(&buf, BLOCK, BLOCK) == 0) {
		for (int i = 0; i < BLOCK; i++)
			((char *)buf)[i] = (char)i;
		while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
			if (pwrite(fd, buf, BLOCK, (off_t)(n % BLOCKS) * BLOCK) != BLOCK)
				break;
			n++;
		}
	}
	free(buf);
	if (fd >= 0)
		close(fd);
	*(unsigned long *)arg = n;
	return NULL;
}

int main(int argc, char **argv)
{
	return run_threads(argc, argv, "direct_io SECONDS [THREADS]", worker);
}
