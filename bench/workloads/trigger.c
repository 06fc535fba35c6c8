/* Event source of the streaming benchmark: calls getpgid(STREAM_MAGIC | PER_CALL) CALLS_PER_SECOND times a
 * second for SECONDS, paced in 1 ms ticks; bench/bpf/stream.bpf.c turns each call into PER_CALL ring-buffer
 * records. ops = calls made. Usage: trigger SECONDS CALLS_PER_SECOND PER_CALL */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>
#include "common.h"
#include "../bpf/stream.h"

int main(int argc, char **argv)
{
	double seconds = seconds_arg(argc, argv, 1, "trigger SECONDS CALLS_PER_SECOND PER_CALL"), start;
	double rate = argc > 2 ? atof(argv[2]) : 0;
	long per_call = argc > 3 ? atol(argv[3]) : 0;
	unsigned long calls = 0, ticks;
	struct timespec next;

	if (rate <= 0 || per_call < 1 || per_call > STREAM_MAX_PER_CALL) {
		fprintf(stderr, "usage: trigger SECONDS CALLS_PER_SECOND PER_CALL (1..%d)\n", STREAM_MAX_PER_CALL);
		return 2;
	}
	ticks = (unsigned long)(seconds * 1000);
	clock_gettime(CLOCK_MONOTONIC, &next);
	start = now_s();
	for (unsigned long t = 0; t < ticks; t++) {
		unsigned long due = (unsigned long)(rate * (t + 1) / 1000.0);

		while (calls < due) {
			syscall(SYS_getpgid, STREAM_MAGIC | per_call);
			calls++;
		}
		next.tv_nsec += 1000 * 1000;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	print_result(calls, now_s() - start);
	return 0;
}
