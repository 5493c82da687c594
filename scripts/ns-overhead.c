/* The reference for the ns_latency worker's timed region: the least a program
 * can do to time unshare(2) the way the worker does. Per sample: fork, then in
 * the child clock -> unshare(flags) -> clock, the figure sent to the parent
 * through a pipe. Prints one sample per line, in ns.
 *
 *   ns-overhead FLAGS ITERATIONS WARMUP    (FLAGS: a CLONE_NEW* mask, decimal)
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s FLAGS ITERATIONS WARMUP\n", argv[0]);
		return 2;
	}
	int flags = atoi(argv[1]);
	long n = atol(argv[2]), warmup = atol(argv[3]);
	for (long i = 0; i < warmup + n; i++) {
		int p[2];
		if (pipe(p)) {
			perror("pipe");
			return 1;
		}
		pid_t c = fork();
		if (c < 0) {
			perror("fork");
			return 1;
		}
		if (c == 0) {
			uint64_t t0 = now_ns();
			int r = unshare(flags);
			uint64_t t1 = now_ns();
			uint64_t d = r == 0 ? t1 - t0 : 0;
			_exit(write(p[1], &d, sizeof d) == sizeof d && r == 0 ? 0 : 1);
		}
		close(p[1]);
		uint64_t d = 0;
		ssize_t got = read(p[0], &d, sizeof d);
		close(p[0]);
		int st;
		waitpid(c, &st, 0);
		if (got != sizeof d || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "unshare(%#x) failed in the child\n", flags);
			return 1;
		}
		if (i >= warmup)
			printf("%llu\n", (unsigned long long)d);
	}
	return 0;
}
