/* Unix stream socket request/response with small messages: a client process sends a 64-byte request over a
 * connection to a named socket and waits for the 64-byte response from a server process. ops = round trips.
 * Usage: uds_rr SECONDS */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

#define MSG 64

int main(int argc, char **argv)
{
	double seconds = seconds_arg(argc, argv, 1, "uds_rr SECONDS"), start, elapsed;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	unsigned long rounds = 0;
	char buf[MSG] = { 0 };
	int lfd, fd;
	pid_t child;

	snprintf(addr.sun_path, sizeof(addr.sun_path), "/tmp/kotel-bench-uds-%d.sock", getpid());
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(lfd, 1))
		return perror("listen"), 1;
	child = fork();
	if (child < 0)
		return perror("fork"), 1;
	if (child == 0) {
		int c = accept(lfd, NULL, NULL);

		while (c >= 0 && full_io(c, buf, MSG, 0) == 0 && full_io(c, buf, MSG, 1) == 0)
			;
		_exit(0);
	}
	close(lfd);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
		return perror("connect"), 1;
	unlink(addr.sun_path);
	start = now_s();
	do {
		for (int i = 0; i < 100; i++, rounds++)
			if (full_io(fd, buf, MSG, 1) || full_io(fd, buf, MSG, 0))
				return perror("uds_rr"), 1;
	} while ((elapsed = now_s() - start) < seconds);
	close(fd);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	print_result(rounds, elapsed);
	return 0;
}
