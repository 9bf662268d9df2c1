/*
 * wire_integrity.c - two processes move frames over a Trapeze wire, with
 * one fault mode on the sender's transmit path, and check every frame.
 *
 *   wire_integrity --mode none|loss|dup|reorder|corrupt|delay|all
 *                  [--bytes N] [--payload BYTES] [--seed S] [--linear]
 *
 * The parent sends; a forked child receives. Every frame carries a sequence
 * number and a hash of all its bytes (testframe.h). When the sender is done
 * it reports its fault counters through a pipe, and the receiver checks that
 * what it saw agrees: frames lost == dropped, duplicates == duplicated, late
 * frames == reordered, bad hashes == corrupted, latency >= delay. Exit 0 when
 * every check holds.
 */
#include "nic/faults.h"
#include "nic/trapeze.h"
#include "stack/log.h"
#include "testframe.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct report {
	uint64_t sent;
	struct zc_fault_stats f;
	struct zc_netif_stats nic;
	double seconds;
};

struct seen {
	uint64_t received, good, bad, dups, late, missing;
	uint64_t min_latency, irq_waits;
	struct zc_netif_stats nic;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int rd(int fd, void *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = read(fd, (char *)p + got, n - got);
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

static void die(const char *m)
{
	fprintf(stderr, "wire_integrity: %s\n", m);
	exit(2);
}

static int receiver(const char *wire, uint64_t nframes, int rep_fd, int res_fd)
{
	struct zc_trapeze_config c = { .name = wire, .port = 1 };
	struct zc_netif *n = zc_trapeze_open(&c);
	if (n == NULL)
		die("receiver cannot open the wire");
	uint8_t *bitmap = calloc(nframes / 8 + 1, 1);
	struct seen s = { .min_latency = UINT64_MAX };
	struct report r;
	bool have_report = false;
	uint64_t expect = UINT64_MAX, idle_since = now_ns(), max_seq = 0;
	bool any = false;
	int spins = 0;
	while (s.received < expect) {
		struct zc_mbuf *m[32];
		uint64_t t = now_ns();
		int k = zc_netif_rx(n, m, 32, t);
		for (int i = 0; i < k; i++) {
			struct tf_info in;
			s.received++;
			if (tf_check(m[i], &in) != 0 || in.seq >= nframes) {
				s.bad++;
			} else {
				s.good++;
				uint64_t lat = t - in.sent_at;
				if (lat < s.min_latency)
					s.min_latency = lat;
				if (bitmap[in.seq / 8] & (1u << (in.seq % 8))) {
					s.dups++;
				} else {
					bitmap[in.seq / 8] |= (uint8_t)(1u << (in.seq % 8));
					if (any && in.seq < max_seq)
						s.late++;
				}
				if (!any || in.seq > max_seq)
					max_seq = in.seq;
				any = true;
			}
			zc_mbuf_free(m[i]);
		}
		if (k) {
			idle_since = t;
			spins = 0;
			continue;
		}
		if (!have_report) {
			struct pollfd pf = { .fd = rep_fd, .events = POLLIN };
			if (poll(&pf, 1, 0) == 1) {
				if (rd(rep_fd, &r, sizeof(r)))
					die("lost the sender's report");
				have_report = true;
				expect = r.sent - r.f.dropped + r.f.duplicated;
			}
		}
		if (t - idle_since > 20000000000ull) {
			fprintf(stderr, "wire_integrity: receiver idle for 20 s with %" PRIu64 " of %" PRIu64
					" frames\n", s.received, expect);
			break;
		}
		/* idle: spin a little, then sleep on the NIC's interrupt */
		if (++spins > 2000) {
			if (n->ops->irq_arm(n) == 0) {
				struct pollfd pf[2] = { { .fd = n->ops->irq_fd(n), .events = POLLIN },
							{ .fd = rep_fd, .events = POLLIN } };
				poll(pf, have_report ? 1 : 2, 10);
				n->ops->irq_ack(n);
			}
			spins = 0;
		}
	}
	for (uint64_t i = 0; i < nframes; i++)
		if (!(bitmap[i / 8] & (1u << (i % 8))))
			s.missing++;
	n->ops->get_stats(n, &s.nic);
	s.irq_waits = s.nic.irq_waits;
	/* every received frame was freed: the pool holds only its posted frames */
	if (zc_pool_outstanding(n->pool) != zc_trapeze_posted(n))
		die("receiver pool leaked frames");
	if (!have_report && rd(rep_fd, &r, sizeof(r)))
		die("lost the sender's report");
	zc_netif_close(n);
	free(bitmap);
	return write(res_fd, &s, sizeof(s)) == sizeof(s) ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *mode = "none";
	uint64_t bytes = 1ull << 30, seed = 1;
	uint32_t payload = 65536;
	bool linear = false;
	static const struct option opts[] = {
		{ "mode", required_argument, 0, 'm' },  { "bytes", required_argument, 0, 'b' },
		{ "payload", required_argument, 0, 'p' }, { "seed", required_argument, 0, 's' },
		{ "linear", no_argument, 0, 'l' },       { 0, 0, 0, 0 },
	};
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'm': mode = optarg; break;
		case 'b': bytes = strtoull(optarg, NULL, 0); break;
		case 'p': payload = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'l': linear = true; break;
		default: die("usage: wire_integrity --mode M [--bytes N] [--payload B] [--seed S] [--linear]");
		}
	}
	struct zc_fault_config fc = { .seed = seed, .dir = ZC_FAULT_TX };
	if (strcmp(mode, "loss") == 0)
		fc.loss = 0.02;
	else if (strcmp(mode, "dup") == 0)
		fc.dup = 0.02;
	else if (strcmp(mode, "reorder") == 0)
		fc.reorder = 0.02;
	else if (strcmp(mode, "corrupt") == 0)
		fc.corrupt = 0.02;
	else if (strcmp(mode, "delay") == 0)
		fc.delay_ns = 2000000;
	else if (strcmp(mode, "all") == 0)
		fc = (struct zc_fault_config){ .loss = 0.01, .dup = 0.01, .reorder = 0.01, .corrupt = 0.01,
					       .delay_ns = 500000, .seed = seed, .dir = ZC_FAULT_TX };
	else if (strcmp(mode, "none") != 0)
		die("unknown mode");
	uint64_t nframes = (bytes + payload - 1) / payload;
	char wire[32];
	snprintf(wire, sizeof(wire), "wi%d", (int)getpid());
	zc_trapeze_unlink(wire);

	int rep[2], res[2];
	if (pipe(rep) || pipe(res))
		die("pipe");
	pid_t child = fork();
	if (child == 0) {
		close(rep[1]);
		close(res[0]);
		_exit(receiver(wire, nframes, rep[0], res[1]));
	}
	close(rep[0]);
	close(res[1]);
	struct zc_trapeze_config c = { .name = wire, .port = 0 };
	struct zc_netif *t = zc_trapeze_open(&c);
	if (t == NULL)
		die("sender cannot open the wire");
	uint64_t t0 = now_ns();
	while (!zc_trapeze_link_up(t)) {
		if (now_ns() - t0 > 10000000000ull)
			die("the receiver never came up");
		usleep(1000);
	}
	struct zc_netif *n = zc_faults_wrap(t, &fc);
	struct report r = { 0 };
	t0 = now_ns();
	uint64_t seq = 0;
	while (seq < nframes) {
		uint64_t now = now_ns();
		uint32_t len = (uint32_t)(seq + 1 == nframes ? bytes - seq * payload : payload);
		struct zc_mbuf *m = tf_build(n->pool, n->mac, n->mac, seq, len, now, !linear, true);
		if (m == NULL) { /* frames held in the fault layer or the wire: let them go */
			zc_netif_flush(n, now);
			continue;
		}
		if (zc_netif_tx(n, &m, 1, now) == 1)
			seq++;
		else
			zc_mbuf_free(m);
	}
	while (zc_netif_next_due(n) != UINT64_MAX)
		zc_netif_flush(n, now_ns());
	r.seconds = (double)(now_ns() - t0) / 1e9;
	r.sent = nframes;
	zc_faults_get_stats(n, ZC_FAULT_TX, &r.f);
	n->ops->get_stats(n, &r.nic);
	if (write(rep[1], &r, sizeof(r)) != sizeof(r))
		die("report");
	struct seen s;
	int status = 0;
	if (rd(res[0], &s, sizeof(s)))
		die("the receiver failed");
	waitpid(child, &status, 0);
	zc_trapeze_reap(t); /* take back the duplicates the receiver pulled */
	if (zc_pool_outstanding(n->pool) != zc_trapeze_posted(t))
		die("sender pool leaked frames");
	zc_netif_close(n);

	printf("mode=%s frames=%" PRIu64 " bytes=%" PRIu64 " payload=%u %.2f GB/s (filling and hashing every byte)\n", mode, nframes, bytes,
	       payload, (double)bytes / r.seconds / 1e9);
	printf("  sender:   dropped=%" PRIu64 " duplicated=%" PRIu64 " reordered=%" PRIu64
	       " corrupted=%" PRIu64 " delayed=%" PRIu64 " zc_frames=%" PRIu64 " dma_bytes=%" PRIu64
	       " irqs=%" PRIu64 "\n",
	       r.f.dropped, r.f.duplicated, r.f.reordered, r.f.corrupted, r.f.delayed, r.nic.zc_frames,
	       r.nic.dma_bytes, r.nic.irq_raised);
	printf("  receiver: received=%" PRIu64 " good=%" PRIu64 " bad=%" PRIu64 " dups=%" PRIu64
	       " late=%" PRIu64 " missing=%" PRIu64 " min_latency_ns=%" PRIu64 " sleeps=%" PRIu64 "\n",
	       s.received, s.good, s.bad, s.dups, s.late, s.missing, s.min_latency, s.irq_waits);
	int fails = 0;
#define CHECK(cond)                                                   \
	do {                                                          \
		if (!(cond)) {                                        \
			printf("  FAILED: %s\n", #cond);              \
			fails++;                                      \
		}                                                     \
	} while (0)
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(s.received == r.sent - r.f.dropped + r.f.duplicated);
	CHECK(s.bad == r.f.corrupted);
	if (strcmp(mode, "all") != 0) {
		CHECK(s.missing == r.f.dropped + r.f.corrupted);
		CHECK(s.dups == r.f.duplicated);
		CHECK(s.late == r.f.reordered);
	} else {
		CHECK(s.missing <= r.f.dropped + r.f.corrupted);
		CHECK(s.dups <= r.f.duplicated);
	}
	CHECK(s.min_latency >= fc.delay_ns);
	if (strcmp(mode, "none") == 0)
		CHECK(s.good == nframes && s.bad == 0);
	else if (strcmp(mode, "delay") != 0)
		CHECK(r.f.dropped + r.f.duplicated + r.f.reordered + r.f.corrupted > 0);
	if (!linear && strcmp(mode, "none") == 0)
		CHECK(r.nic.dma_bytes == 0);
	printf("%s: %d checks failed\n", fails ? "FAIL" : "PASS", fails);
	return fails ? 1 : 0;
}
