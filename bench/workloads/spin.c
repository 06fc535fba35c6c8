/* THREADS threads that only compute: run in a cgroup with a small cpu.max they are throttled each period.
 * ops = loop iterations, all threads. Usage: spin SECONDS [THREADS] */
#define _GNU_SOURCE
#include "common.h"

static void *worker(void *arg)
{
	unsigned long n = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed))
		n++;
	*(unsigned long *)arg = n;
	return NULL;
}

int main(int argc, char **argv)
{
	return run_threads(argc, argv, "spin SECONDS [THREADS]", worker);
}
