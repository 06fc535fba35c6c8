/* Shared by the bench workloads: a monotonic clock and the one JSON line each prints at the end. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline double seconds_arg(int argc, char **argv, int i, const char *usage)
{
	double s = argc > i ? atof(argv[i]) : 0;

	if (s <= 0) {
		fprintf(stderr, "usage: %s\n", usage);
		exit(2);
	}
	return s;
}

/* reads or writes exactly n bytes; -1 on an error or the end of the stream (the request/response workloads) */
static inline int full_io(int fd, char *buf, int n, int write_it)
{
	int done = 0;

	while (done < n) {
		ssize_t r = write_it ? write(fd, buf + done, n - done) : read(fd, buf + done, n - done);
		if (r <= 0)
			return -1;
		done += r;
	}
	return 0;
}

static inline void print_result(unsigned long ops, double seconds)
{
	printf("{\"ops\":%lu,\"seconds\":%.6f,\"perSecond\":%.1f}\n", ops, seconds, ops / seconds);
}

/* Workers poll this and return when it is set. */
static atomic_int stop;

/* Runs THREADS (argv[2], default 4) copies of worker for SECONDS (argv[1]); each stores its operation count
 * through its argument. Prints the total as the result line. */
static inline int run_threads(int argc, char **argv, const char *usage, void *(*worker)(void *))
{
	double seconds = seconds_arg(argc, argv, 1, usage), start;
	int threads = argc > 2 ? atoi(argv[2]) : 4;
	pthread_t tid[64];
	unsigned long counts[64] = { 0 }, total = 0;

	if (threads < 1 || threads > 64)
		threads = 4;
	start = now_s();
	for (int i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, worker, &counts[i]);
	while (now_s() - start < seconds) {
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
#endif
