// SPDX-License-Identifier: Apache-2.0
/*
 * Workload helper for the rule captures (scripts/record-rule-captures.sh): the system calls
 * a shell and coreutils cannot make on their own.
 *
 *   rulehelper peek PID         PTRACE_ATTACH to PID, PTRACE_PEEKDATA one word, detach
 *   rulehelper traceme          PTRACE_TRACEME only (a debuggee's request, not an attach)
 *   rulehelper connect IP PORT  TCP connect to IP:PORT, send one line, close
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int peek(pid_t pid)
{
	long word;

	if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) != 0) {
		perror("PTRACE_ATTACH");
		return 1;
	}
	if (waitpid(pid, NULL, 0) < 0) {
		perror("waitpid");
		return 1;
	}
	errno = 0;
	word = ptrace(PTRACE_PEEKDATA, pid, (void *)0x400000, NULL);
	printf("peek %d: %lx (errno %d)\n", pid, word, errno);
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	return 0;
}

static int connect_to(const char *ip, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
		fprintf(stderr, "bad socket or address %s\n", ip);
		return 1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("connect");
		return 1;
	}
	if (write(fd, "hello\n", 6) != 6)
		perror("write");
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "peek") == 0)
		return peek(atoi(argv[2]));
	if (argc == 2 && strcmp(argv[1], "traceme") == 0)
		return ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0 ? 0 : 1;
	if (argc == 4 && strcmp(argv[1], "connect") == 0)
		return connect_to(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: rulehelper peek PID | traceme | connect IP PORT\n");
	return 2;
}
