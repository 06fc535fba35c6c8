/* Idle processes for the library-scan bench: forks COUNT children that sleep; every EVERY-th one first
 * dlopens one of the LIB paths (in turn), as a process that loads its own libibverbs copy would. Prints
 * "ready" once all are set up, then waits for end of input and kills them. Children die with it too
 * (PR_SET_PDEATHSIG). Usage: idle_procs COUNT EVERY LIB... */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int count = argc > 1 ? atoi(argv[1]) : 0, every = argc > 2 ? atoi(argv[2]) : 0, nlibs = argc - 3;
	int up[2];
	pid_t *pids;
	char c;

	if (count < 1 || every < 1 || nlibs < 1) {
		fprintf(stderr, "usage: idle_procs COUNT EVERY LIB...\n");
		return 2;
	}
	pids = calloc(count, sizeof(*pids));
	if (!pids || pipe(up))
		return 1;
	for (int i = 0; i < count; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("fork");
			return 1;
		}
		if (pids[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (i % every == 0 && !dlopen(argv[3 + (i / every) % nlibs], RTLD_NOW)) {
				fprintf(stderr, "idle_procs: %s\n", dlerror());
				_exit(1);
			}
			if (write(up[1], "", 1) != 1)
				_exit(1);
			for (;;)
				pause();
		}
	}
	for (int i = 0; i < count; i++)
		if (read(up[0], &c, 1) != 1)
			return 1;
	printf("ready\n");
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	for (int i = 0; i < count; i++)
		kill(pids[i], SIGKILL);
	while (wait(NULL) > 0)
		;
	return 0;
}
