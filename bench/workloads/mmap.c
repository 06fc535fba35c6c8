/* THREADS threads of one process mapping, touching and unmapping 64 KiB of anonymous memory: they contend
 * on the process's mmap_lock (kernel rwsem contention). ops = map/unmap cycles, all threads.
 * Usage: mmap SECONDS [THREADS] */
#define _GNU_SOURCE
#include <sys/mman.h>
#include "common.h"

#define SIZE (64 * 1024)

static void *worker(void *arg)
{
	unsigned long n = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			break;
		p[0] = 1; /* page fault: takes mmap_lock for read while others take it for write */
		p[SIZE / 2] = 1;
		munmap(p, SIZE);
		n++;
	}
	*(unsigned long *)arg = n;
	return NULL;
}

int main(int argc, char **argv)
{
	return run_threads(argc, argv, "mmap SECONDS [THREADS]", worker);
}
