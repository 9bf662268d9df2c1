/* mixed_poll.c - run under zcrun: one poll() and one select() over a pipe,
 * a file and a stack socket together; each must report all three, and
 * the socket's bytes must be what the peer sent.
 *   mixed_poll ADDR PORT EXPECTED_TEXT */
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

static int die(const char *m)
{
	perror(m);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: mixed_poll ADDR PORT TEXT\n");
		return 2;
	}
	int p[2];
	if (pipe(p) || write(p[1], "x", 1) != 1)
		return die("pipe");
	int f = open("/proc/self/status", O_RDONLY);
	if (f < 0)
		return die("open");
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
	inet_pton(AF_INET, argv[1], &a.sin_addr);
	for (int i = 0; connect(s, (struct sockaddr *)&a, sizeof(a)) != 0; i++) {
		if (i > 100)
			return die("connect");
		close(s);
		s = socket(AF_INET, SOCK_STREAM, 0);
		usleep(50000);
	}
	struct pollfd pf[3] = { { p[0], POLLIN, 0 }, { f, POLLIN, 0 }, { s, POLLIN, 0 } };
	int n = 0;
	for (int i = 0; i < 500 && n < 3; i++) { /* the socket's bytes may take a moment */
		n = poll(pf, 3, 100);
		if (n < 3)
			usleep(10000); /* the pipe and the file are ready at once */
	}
	if (n != 3 || !(pf[0].revents & POLLIN) || !(pf[1].revents & POLLIN) || !(pf[2].revents & POLLIN)) {
		fprintf(stderr, "poll: %d ready (%x %x %x)\n", n, pf[0].revents, pf[1].revents, pf[2].revents);
		return 1;
	}
	fd_set r;
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	FD_SET(f, &r);
	FD_SET(s, &r);
	int mx = (p[0] > f ? p[0] : f) > s ? (p[0] > f ? p[0] : f) : s;
	struct timeval tv = { 2, 0 };
	n = select(mx + 1, &r, NULL, NULL, &tv);
	if (n != 3 || !FD_ISSET(p[0], &r) || !FD_ISSET(f, &r) || !FD_ISSET(s, &r)) {
		fprintf(stderr, "select: %d ready\n", n);
		return 1;
	}
	/* as on Linux, the timeval is left with the time not slept: all but
	 * a little when ready at once, nothing after a timeout */
	if (tv.tv_sec < 1) {
		fprintf(stderr, "select: %ld.%06ld s left of 2 s, though ready at once\n", (long)tv.tv_sec,
			(long)tv.tv_usec);
		return 1;
	}
	fd_set x;
	FD_ZERO(&x);
	FD_SET(s, &x);
	tv = (struct timeval){ 0, 100000 };
	n = select(s + 1, NULL, NULL, &x, &tv);
	if (n != 0 || tv.tv_sec != 0 || tv.tv_usec != 0) {
		fprintf(stderr, "select timeout: %d ready, %ld.%06ld s left\n", n, (long)tv.tv_sec, (long)tv.tv_usec);
		return 1;
	}
	char buf[256] = "";
	size_t want = strlen(argv[3]), got = 0;
	while (got < want) {
		ssize_t k = read(s, buf + got, sizeof(buf) - 1 - got);
		if (k <= 0)
			return die("read");
		got += (size_t)k;
	}
	if (strncmp(buf, argv[3], want) != 0) {
		fprintf(stderr, "socket said '%s', expected '%s'\n", buf, argv[3]);
		return 1;
	}
	char c;
	if (read(p[0], &c, 1) != 1 || c != 'x' || read(f, buf, 10) <= 0)
		return die("kernel fds");
	if (close(s) != 0 || close(s) != -1)
		return die("double close");
	printf("mixed_poll: pipe, file and stack socket ready in one poll and one select\n");
	return 0;
}
