/* THREADS threads of one process mapping, touching and unmapping 64 KiB of anonymous memory: they contend
 * on the process's mmap_lock (kernel rwsem contention). ops = map/unmap cycles, all threads.
 * Usage: mmap SECONDS [THREADS] */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include "common.h"

#define SIZE (64 * 1024)

static atomic_int stop;

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
	double seconds = seconds_arg(argc, argv, 1, "mmap SECONDS [THREADS]"), start, elapsed;
	int threads = argc > 2 ? atoi(argv[2]) : 4;
	pthread_t tid[64];
	unsigned long counts[64] = { 0 }, total = 0;

	if (threads < 1 || threads > 64)
		threads = 4;
	start = now_s();
	for (int i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, worker, &counts[i]);
	while ((elapsed = now_s() - start) < seconds) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		total += counts[i];
	}
	print_result(total, now_s() - start);
	return 0;
}
