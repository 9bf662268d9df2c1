/*
 * pingpong.c - 64-byte TCP ping-pong, one message in flight, plain POSIX
 * sockets (so it runs on the kernel as it is, and on zcstack under zcrun).
 *
 *   pingpong server ADDR PORT
 *   pingpong client ADDR PORT [--count N] [--size B]
 *
 * The client prints one line: "pingpong N SIZE median_us p99_us rtt/s".
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SIZE 65536 /* --size */
/* The client connects until the server listens (both may start at once,
 * the server under zcrun): every 20 ms, for 4 s. */
#define CONNECT_TRIES 200
#define CONNECT_WAIT_US 20000

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int full(int fd, void *b, size_t n, int rd)
{
	size_t d = 0;
	while (d < n) {
		ssize_t r = rd ? read(fd, (char *)b + d, n - d) : write(fd, (char *)b + d, n - d);
		if (r <= 0)
			return -1;
		d += (size_t)r;
	}
	return 0;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 4 || (strcmp(argv[1], "server") && strcmp(argv[1], "client"))) {
		fprintf(stderr, "usage: pingpong server ADDR PORT | client ADDR PORT [--count N] [--size B]\n");
		return 2;
	}
	int count = 20000, size = 64;
	for (int i = 4; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--count"))
			count = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--size"))
			size = atoi(argv[i + 1]);
	}
	if (count < 10 || size < 1 || size > MAX_SIZE) {
		fprintf(stderr, "pingpong: --count >= 10, --size 1..%d\n", MAX_SIZE);
		return 2;
	}
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3])) };
	if (inet_pton(AF_INET, argv[2], &a.sin_addr) != 1) {
		fprintf(stderr, "pingpong: bad address %s\n", argv[2]);
		return 2;
	}
	int one = 1;
	char *buf = calloc(1, (size_t)size);
	if (!strcmp(argv[1], "server")) {
		int l = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4)) {
			perror("pingpong: bind/listen");
			return 1;
		}
		int c = accept(l, NULL, NULL);
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		while (full(c, buf, (size_t)size, 1) == 0 && full(c, buf, (size_t)size, 0) == 0)
			;
		close(c);
		close(l);
		return 0;
	}
	int s = -1;
	for (int i = 0; i < CONNECT_TRIES; i++) {
		s = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0)
			break;
		close(s);
		s = -1;
		usleep(CONNECT_WAIT_US);
	}
	if (s < 0) {
		perror("pingpong: connect");
		return 1;
	}
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	uint64_t *t = malloc(sizeof(uint64_t) * (size_t)count);
	for (int i = 0; i < count / 10; i++) /* warm up: a tenth of the count, not timed */
		if (full(s, buf, (size_t)size, 0) || full(s, buf, (size_t)size, 1))
			return 1;
	uint64_t t0 = now_ns();
	for (int i = 0; i < count; i++) {
		uint64_t a0 = now_ns();
		if (full(s, buf, (size_t)size, 0) || full(s, buf, (size_t)size, 1)) {
			perror("pingpong");
			return 1;
		}
		t[i] = now_ns() - a0;
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	qsort(t, (size_t)count, sizeof(t[0]), cmp);
	printf("pingpong %d %d %.2f %.2f %.0f\n", count, size, (double)t[count / 2] / 1000.0,
	       (double)t[(size_t)count * 99 / 100] / 1000.0, count / secs);
	close(s);
	free(t);
	free(buf);
	return 0;
}
