// SPDX-License-Identifier: Apache-2.0
/*
 * Syscall microbenchmark for the driver benchmark (scripts/bench-driver.sh): ROUNDS rounds
 * of ITERS iterations of open+read+close of one file, then of getppid. Each round is timed
 * as a whole and in batches (BATCH_OPENRC / BATCH_GETPPID iterations, a few milliseconds),
 * all with CLOCK_MONOTONIC. Prints per round and workload:
 *
 *   ROUND <n> <openrc|getppid> <ns per iteration over the whole round>
 *   ROUND <n> <openrc|getppid>@p10 <ns per iteration of the 10th-percentile batch>
 *
 * Under emulation on a shared host the guest's clock runs while the host has the virtual
 * CPU descheduled: whole-round means carry the host's load, while the fastest batches are
 * the ones that ran without interruption, so the low percentile is the steadier figure.
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

#define BATCH_OPENRC 20
#define BATCH_GETPPID 1000

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int open_read_close(const char *file)
{
	char buf[64];
	int fd = open(file, O_RDONLY);

	if (fd < 0) {
		perror(file);
		return -1;
	}
	if (read(fd, buf, sizeof(buf)) < 0) {
		perror("read");
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* One round of `iters` iterations in batches of `batch`; prints its two lines. */
static int run_round(long round, const char *what, long iters, long batch, const char *file,
		     double *samples)
{
	long done = 0, n = 0, i;
	double start = now_ns(), end;

	while (done < iters) {
		long todo = iters - done < batch ? iters - done : batch;
		double t0 = now_ns();

		for (i = 0; i < todo; i++) {
			if (file) {
				if (open_read_close(file))
					return -1;
			} else {
				syscall(SYS_getppid);
			}
		}
		samples[n++] = (now_ns() - t0) / (double)todo;
		done += todo;
	}
	end = now_ns();
	qsort(samples, n, sizeof(*samples), cmp_double);
	printf("ROUND %ld %s %.1f\n", round, what, (end - start) / (double)iters);
	printf("ROUND %ld %s@p10 %.1f\n", round, what, samples[n / 10]);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	long iters, rounds, r;
	const char *file;
	double *samples;

	if (argc < 3) {
		fprintf(stderr, "usage: syscall_bench ITERS ROUNDS [FILE]\n");
		return 2;
	}
	iters = atol(argv[1]);
	rounds = atol(argv[2]);
	file = argc > 3 ? argv[3] : "/etc/hostname";
	if (iters <= 0 || rounds <= 0)
		return 2;
	samples = calloc((size_t)iters, sizeof(*samples));
	if (!samples) {
		perror("calloc");
		return 1;
	}
	for (r = 0; r < rounds; r++) {
		if (run_round(r, "openrc", iters, BATCH_OPENRC, file, samples) ||
		    run_round(r, "getppid", iters, BATCH_GETPPID, NULL, samples))
			return 1;
	}
	free(samples);
	return 0;
}
