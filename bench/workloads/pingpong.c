/* Pipe ping-pong between two processes, one byte each way: two context switches and two wakeups per
 * round trip when pinned to one CPU (taskset -c 0). ops = round trips. Usage: pingpong SECONDS */
#define _GNU_SOURCE
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>
#include "common.h"

int main(int argc, char **argv)
{
	double seconds = seconds_arg(argc, argv, 1, "pingpong SECONDS"), start, elapsed;
	int ping[2], pong[2];
	unsigned long rounds = 0;
	char c = 0;
	pid_t child;

	if (pipe(ping) || pipe(pong))
		return perror("pipe"), 1;
	child = fork();
	if (child < 0)
		return perror("fork"), 1;
	if (child == 0) {
		close(ping[1]);
		close(pong[0]);
		while (read(ping[0], &c, 1) == 1 && write(pong[1], &c, 1) == 1)
			;
		_exit(0);
	}
	start = now_s();
	do {
		for (int i = 0; i < 1000; i++, rounds++)
			if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1)
				return perror("pingpong"), 1;
	} while ((elapsed = now_s() - start) < seconds);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	print_result(rounds, elapsed);
	return 0;
}
