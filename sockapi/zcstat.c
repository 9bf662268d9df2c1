/*
 * zcstat.c - what a program running under zcrun is doing: its sockets
 * (state, addresses, queues, RTT, cwnd, bytes copied/traded/by COW), the
 * zero-copy counters and policy, the NIC and pool counters and the stack's.
 *
 *   zcstat [PID]   (no PID: list the processes that have a stack)
 *   zcstat --hold-lock MS PID   take the stack's lock in PID for MS ms (at
 *                  most 60000): for tests of a process that dies holding it
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int list(void)
{
	FILE *f = fopen("/proc/net/unix", "r");
	if (f == NULL) {
		perror("zcstat: /proc/net/unix");
		return 1;
	}
	char line[512];
	int n = 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "@zcstack-");
		if (p) {
			printf("%s", p + 9);
			n++;
		}
	}
	fclose(f);
	if (n == 0)
		fprintf(stderr, "zcstat: no process runs zcstack now (start one with zcrun)\n");
	return n ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *req = "dump\n";
	char hold[64];
	if (argc == 4 && !strcmp(argv[1], "--hold-lock")) {
		char *e;
		long ms = strtol(argv[2], &e, 10);
		if (*e || ms <= 0 || ms > 60000) {
			fprintf(stderr, "zcstat: --hold-lock %s: expected 1..60000 ms\n", argv[2]);
			return 2;
		}
		snprintf(hold, sizeof(hold), "hold %ld\n", ms);
		req = hold;
		argv += 2;
		argc -= 2;
	}
	if (argc > 2 || (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))) {
		printf("usage: zcstat [PID]\n       zcstat --hold-lock MS PID\n"
		       "Prints the sockets, zero-copy, NIC, pool and stack counters of a "
		       "process running under zcrun; without PID, lists such processes.\n"
		       "--hold-lock: the process takes its stack's lock for MS ms and says when it holds "
		       "it (for tests: kill it then, and the others must recover).\n");
		return argc > 2 ? 2 : 0;
	}
	if (argc == 1)
		return list();
	char *end;
	long pid = strtol(argv[1], &end, 10);
	if (*end || pid <= 0) {
		fprintf(stderr, "zcstat: '%s' is not a process id\n", argv[1]);
		return 2;
	}
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int n = snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "zcstack-%ld", pid);
	if (connect(s, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) != 0) {
		fprintf(stderr, "zcstat: process %ld has no zcstack (%s): is it running under zcrun and has it "
				"opened a socket?\n", pid, strerror(errno));
		return 1;
	}
	if (write(s, req, strlen(req)) < 0) {
		perror("zcstat: request");
		return 1;
	}
	char buf[65536];
	ssize_t r;
	while ((r = read(s, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)r, stdout), fflush(stdout); /* --hold-lock: its first line at once */
	close(s);
	return 0;
}
