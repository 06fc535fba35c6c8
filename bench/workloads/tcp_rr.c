/* Loopback TCP request/response with small messages: a client process sends a 64-byte request and waits
 * for the 64-byte response from a server process, TCP_NODELAY. With RECONNECT > 0 the client opens a new
 * connection every RECONNECT round trips (connect/close lifecycle events). ops = round trips.
 * Usage: tcp_rr SECONDS [RECONNECT] */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

#define MSG 64

static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int dial(struct sockaddr_in *addr)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)addr, sizeof(*addr)))
		return perror("connect"), -1;
	nodelay(fd);
	return fd;
}

int main(int argc, char **argv)
{
	double seconds = seconds_arg(argc, argv, 1, "tcp_rr SECONDS [RECONNECT]"), start, elapsed;
	long reconnect = argc > 2 ? atol(argv[2]) : 0;
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	unsigned long rounds = 0;
	char buf[MSG] = { 0 };
	int lfd, fd;
	pid_t child;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(lfd, 128) ||
	    getsockname(lfd, (struct sockaddr *)&addr, &len))
		return perror("listen"), 1;
	child = fork();
	if (child < 0)
		return perror("fork"), 1;
	if (child == 0) {
		int c;

		while ((c = accept(lfd, NULL, NULL)) >= 0) {
			nodelay(c);
			while (full_io(c, buf, MSG, 0) == 0 && full_io(c, buf, MSG, 1) == 0)
				;
			close(c);
		}
		_exit(0);
	}
	close(lfd);
	if ((fd = dial(&addr)) < 0)
		return 1;
	start = now_s();
	do {
		for (int i = 0; i < 100; i++, rounds++) {
			if (full_io(fd, buf, MSG, 1) || full_io(fd, buf, MSG, 0))
				return perror("tcp_rr"), 1;
			if (reconnect > 0 && rounds % reconnect == reconnect - 1) {
				close(fd);
				if ((fd = dial(&addr)) < 0)
					return 1;
			}
		}
	} while ((elapsed = now_s() - start) < seconds);
	close(fd);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	print_result(rounds, elapsed);
	return 0;
}
