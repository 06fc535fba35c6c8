/* Shared by the bench workloads: a monotonic clock and the one JSON line each prints at the end. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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

static inline void print_result(unsigned long ops, double seconds)
{
	printf("{\"ops\":%lu,\"seconds\":%.6f,\"perSecond\":%.1f}\n", ops, seconds, ops / seconds);
}
#endif
