// SPDX-License-Identifier: Apache-2.0
/*
 * Syscall microbenchmark for the driver benchmark (scripts/bench-driver.sh): ROUNDS rounds
 * of ITERS iterations of open+read+close of one file, then of getppid, each round timed
 * with CLOCK_MONOTONIC. Prints one line per round and workload:
 *
 *   ROUND <n> <openrc|getppid> <ns per iteration>
 *
 * usage: syscall_bench ITERS ROUNDS [FILE]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long iters, rounds, r, i;
	const char *file;
	char buf[64];

	if (argc < 3) {
		fprintf(stderr, "usage: syscall_bench ITERS ROUNDS [FILE]\n");
		return 2;
	}
	iters = atol(argv[1]);
	rounds = atol(argv[2]);
	file = argc > 3 ? argv[3] : "/etc/hostname";
	if (iters <= 0 || rounds <= 0)
		return 2;
	for (r = 0; r < rounds; r++) {
		double t0 = now_ns(), t1;

		for (i = 0; i < iters; i++) {
			int fd = open(file, O_RDONLY);

			if (fd < 0) {
				perror(file);
				return 1;
			}
			if (read(fd, buf, sizeof(buf)) < 0)
				return 1;
			close(fd);
		}
		t1 = now_ns();
		printf("ROUND %ld openrc %.1f\n", r, (t1 - t0) / (double)iters);
		t0 = now_ns();
		for (i = 0; i < iters; i++)
			syscall(SYS_getppid);
		t1 = now_ns();
		printf("ROUND %ld getppid %.1f\n", r, (t1 - t0) / (double)iters);
		fflush(stdout);
	}
	return 0;
}
