/* THREADS threads taking one pthread mutex around a short critical section: contended futex waits and
 * wakes. ops = lock acquisitions, all threads. Usage: mutex SECONDS [THREADS] */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include "common.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int stop;
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
	double seconds = seconds_arg(argc, argv, 1, "mutex SECONDS [THREADS]"), start, elapsed;
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
