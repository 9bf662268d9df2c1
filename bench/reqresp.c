/*
 * reqresp.c - request/response of N bytes each way, as an ORB does (issue
 * 16): the client sends a request of N bytes, the server reads all of it,
 * touches every byte (a sum), and answers N bytes; the client reads the
 * whole answer and sums it too. Plain POSIX sockets, so the same binary
 * runs on the kernel and, under zcrun, on zcstack.
 *
 *   reqresp server ADDR PORT
 *   reqresp client ADDR PORT SIZE COUNT
 *
 * A request is an 8-byte length, then SIZE bytes of a pattern; the answer
 * is the server's sum of what it read (8 bytes), then SIZE - 8 bytes of
 * pattern. The client checks both sums (what the server read is what was
 * sent, what came back is what the server sent) and prints one line:
 *   reqresp SIZE COUNT msgs/s GB/s client_cpu_s_per_gib server_cpu_s_per_gib
 * (GB/s counts both directions; CPU per GiB moved, both directions, from
 * getrusage of each process, all its threads). The server answers each
 * connection's last message with its own CPU time for the connection,
 * after the data, so that the client can print it. Buffers are 2 MiB
 * aligned (page trading takes them whole).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SIZE (64u << 20)
#define ALIGN (2u << 20)
#define CONNECT_TRIES 200     /* every 20 ms, for 4 s: the server may start under zcrun */
#define CONNECT_WAIT_US 20000

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static uint8_t *abuf(size_t n)
{
	size_t len = (n + ALIGN - 1) / ALIGN * ALIGN;
	uint8_t *raw = mmap(NULL, len + ALIGN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	uint8_t *p = (uint8_t *)(((uintptr_t)raw + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1));
	madvise(p, len, MADV_HUGEPAGE);
	memset(p, 0, len);
	return p;
}

/* The pattern's byte at offset o of a message. */
static uint8_t pat(uint64_t o) { return (uint8_t)(o * 2654435761u >> 13); }

static void fill(uint8_t *p, size_t n, uint64_t from)
{
	for (size_t i = 0; i < n; i++)
		p[i] = pat(from + i);
}

/* Every byte touched, 8 at a time (a byte loop ran at 1-2 GB/s, slower
 * than either stack): the sum of the 64-bit words, the tail bytewise. */
static uint64_t sum(const uint8_t *p, size_t n)
{
	uint64_t s = 0, w;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		s += w;
	}
	for (; i < n; i++)
		s += p[i];
	return s;
}

static int read_all(int fd, uint8_t *p, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = recv(fd, p + got, n - got, MSG_WAITALL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	for (size_t done = 0; done < n;) {
		ssize_t r = send(fd, p + done, n - done, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

static int serve(int c, uint8_t *in, uint8_t *out)
{
	double c0 = cpu_s();
	size_t have = 0; /* the answer's pattern filled so far */
	for (;;) {
		uint64_t n;
		if (read_all(c, (uint8_t *)&n, sizeof(n)) != 0)
			return 0; /* the client has gone: the connection ends */
		if (n == 0) { /* the end: the connection's CPU time */
			double cpu = cpu_s() - c0;
			return write_all(c, (const uint8_t *)&cpu, sizeof(cpu));
		}
		if (n < 8 || n > MAX_SIZE)
			return -1;
		if (read_all(c, in, n) != 0)
			return -1;
		uint64_t s = sum(in, n);
		if (have < n) {
			fill(out + have, n - have, have);
			have = n;
		}
		memcpy(out, &s, sizeof(s));
		if (write_all(c, out, n) != 0)
			return -1;
	}
}

static int server(const struct sockaddr_in *a)
{
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l < 0 || bind(l, (const struct sockaddr *)a, sizeof(*a)) != 0 || listen(l, 8) != 0) {
		perror("reqresp server: listen");
		return 1;
	}
	uint8_t *in = abuf(MAX_SIZE), *out = abuf(MAX_SIZE);
	if (in == NULL || out == NULL) {
		perror("reqresp server: buffers");
		return 1;
	}
	for (;;) {
		int c = accept(l, NULL, NULL);
		if (c < 0) {
			if (errno == EINTR)
				continue;
			perror("reqresp server: accept");
			return 1;
		}
		if (serve(c, in, out) != 0)
			fprintf(stderr, "reqresp server: a connection failed: %s\n", strerror(errno));
		close(c);
	}
}

static int client(const struct sockaddr_in *a, size_t size, unsigned count)
{
	if (size < 8 || size > MAX_SIZE || count == 0) {
		fprintf(stderr, "reqresp client: SIZE is 8..%u bytes, COUNT at least 1\n", MAX_SIZE);
		return 2;
	}
	uint8_t *req = abuf(size), *ans = abuf(size);
	if (req == NULL || ans == NULL) {
		perror("reqresp client: buffers");
		return 1;
	}
	fill(req, size, 0);
	uint64_t want_req = sum(req, size);
	uint64_t want_ans = sum(req + 8, size - 8); /* the answer's pattern after its sum */
	int c = -1;
	for (int i = 0; i < CONNECT_TRIES; i++) {
		c = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(c, (const struct sockaddr *)a, sizeof(*a)) == 0)
			break;
		close(c);
		c = -1;
		usleep(CONNECT_WAIT_US);
	}
	if (c < 0) {
		perror("reqresp client: connect");
		return 1;
	}
	double c0 = cpu_s();
	uint64_t t0 = now_ns();
	for (unsigned i = 0; i < count; i++) {
		uint64_t n = size;
		if (write_all(c, (const uint8_t *)&n, sizeof(n)) != 0 || write_all(c, req, size) != 0 ||
		    read_all(c, ans, size) != 0) {
			perror("reqresp client: a message");
			return 1;
		}
		uint64_t s;
		memcpy(&s, ans, sizeof(s));
		if (s != want_req || sum(ans + 8, size - 8) != want_ans) {
			fprintf(stderr, "reqresp client: message %u: sums differ (server read %llu, sent %llu)\n", i,
				(unsigned long long)s, (unsigned long long)want_req);
			return 1;
		}
	}
	double sec = (double)(now_ns() - t0) / 1e9, cpu = cpu_s() - c0, srv = 0;
	uint64_t end = 0;
	if (write_all(c, (const uint8_t *)&end, sizeof(end)) != 0 ||
	    read_all(c, (uint8_t *)&srv, sizeof(srv)) != 0) {
		perror("reqresp client: the server's CPU time");
		return 1;
	}
	close(c);
	double gib = 2.0 * (double)size * count / (double)(1u << 30);
	printf("reqresp %zu %u %.1f %.3f %.4f %.4f\n", size, count, count / sec, 2.0 * (double)size * count / sec / 1e9,
	       cpu / gib, srv / gib);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4 || (strcmp(argv[1], "server") && strcmp(argv[1], "client")) ||
	    (strcmp(argv[1], "client") == 0 && argc != 6)) {
		fprintf(stderr, "usage: reqresp server ADDR PORT\n"
				"       reqresp client ADDR PORT SIZE COUNT\n");
		return 2;
	}
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3])) };
	if (inet_pton(AF_INET, argv[2], &a.sin_addr) != 1) {
		fprintf(stderr, "reqresp: bad address %s\n", argv[2]);
		return 2;
	}
	if (argv[1][0] == 's')
		return server(&a);
	return client(&a, strtoull(argv[4], NULL, 0), (unsigned)strtoul(argv[5], NULL, 0));
}
