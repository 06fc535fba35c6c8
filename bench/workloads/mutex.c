/* THREADS threads taking one pthread mutex around a short critical section: contended futex waits and
 * wakes. ops = lock acquisitions, all threads. Usage: mutex SECONDS [THREADS] */
#define _GNU_SOURCE
#include "common.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile unsigned long shared;

static void *worker(void *arg)
{
	unsigned long n = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		pthread_mutex_lock(&lock);
		for (int i = 0; i < 200; i++) /* hold it long enough for others to queue up */
			shared++;
		pthread_mutex_unlock(&lock);
		n++;
	}
	*(unsigned long *)arg = n;
	return NULL;
}

int main(int argc, char **argv)
{
	return run_threads(argc, argv, "mutex SECONDS [THREADS]", worker);
}
