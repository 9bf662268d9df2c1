/*
 * stack_peer - one stack process on any NIC, for tests whose other end is a
 * second stack process or the Linux kernel.
 *
 *   stack_peer --nic SPEC --ip ADDR/PREFIX --role responder [--port P]
 *       answers pings (the stack does) and echoes every UDP datagram to
 *       port P back to its sender; exits 0 after echoing a datagram "BYE",
 *       or 1 at --timeout.
 *   stack_peer --nic SPEC --ip ADDR/PREFIX --role replay [--port P]
 *       a responder that exits 0 once frames stopped coming for half a
 *       second (a net_pcap replay has ended), or 1 at --timeout.
 *   stack_peer --nic SPEC --ip ADDR/PREFIX --role client --peer IP [--port P]
 *       [--pings N] [--datagrams N] [--max-size B]
 *       pings the peer N times, then sends N datagrams of varied sizes and
 *       checks each echo byte for byte (a hash over everything sent and
 *       everything received is printed); retries a lost datagram; then BYE.
 *
 * On exit it prints the stack's counters and drops ("drop.NAME N" lines),
 * which scripts read. Exit status: 0 all checks passed, 1 a check failed or
 * timed out, 2 bad usage or the NIC did not open.
 */
#include "nic/dpdk.h"
#include "nic/open.h"
#include "peer_common.h"
#include "stack/log.h"
#include "stack/stack.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


/* Poll the stack once; when nothing arrived, yield the core a little. */
static void step(struct zc_stack *st)
{
	if (zc_stack_poll(st, now_ns()) == 0 && !zc_stack_tx_pending(st)) {
		struct timespec ts = { 0, 20000 };
		nanosleep(&ts, NULL);
	}
}

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: stack_peer --nic SPEC --ip ADDR/PREFIX --role responder|replay|client\n"
		   "         [--peer IP] [--port P] [--pings N] [--datagrams N] [--max-size B]\n"
		   "         [--timeout SECONDS] [--gw IP] [--icmp-rate ERRORS_PER_S]\n");
}

static int responder(struct zc_stack *st, uint16_t port, uint64_t deadline, bool until_idle)
{
	uint64_t last_rx = 0;
	struct zc_udp_sock *s = zc_udp_open(st);
	if (s == NULL || zc_udp_bind(s, 0, port) != 0) {
		fprintf(stderr, "stack_peer: cannot bind UDP port %u\n", port);
		return 2;
	}
	static uint8_t buf[65536];
	uint64_t echoed = 0;
	int rc = 1;
	while (now_ns() < deadline) {
		uint64_t t = now_ns();
		if (zc_stack_poll(st, t) > 0)
			last_rx = t;
		else if (until_idle && last_rx && t - last_rx > 500000000ull) {
			rc = 0;
			goto done;
		} else
			step(st);
		uint32_t ip;
		uint16_t p;
		ssize_t n;
		while ((n = zc_udp_recvfrom(s, buf, sizeof(buf), &ip, &p)) >= 0) {
			ssize_t w = zc_udp_sendto(s, buf, (size_t)n, ip, p);
			if (w < 0)
				fprintf(stderr, "stack_peer: echo of %zd bytes: %s\n", n, strerror((int)-w));
			echoed++;
			if (n == 3 && memcmp(buf, "BYE", 3) == 0) {
				rc = 0;
				goto done;
			}
		}
	}
	fprintf(stderr, "stack_peer: responder timed out\n");
done:
	/* let the last echo (and any ARP it needs) leave */
	for (uint64_t end = now_ns() + 200000000ull; now_ns() < end;)
		step(st);
	printf("echoed %" PRIu64 "\n", echoed);
	zc_udp_close(s);
	return rc;
}

/* Wait for one UDP echo of want[0..n); returns 0, or -1 on timeout. */
static int await_echo(struct zc_stack *st, struct zc_udp_sock *s, const uint8_t *want, size_t n,
		      uint8_t *buf, uint64_t until, int *bad)
{
	while (now_ns() < until) {
		step(st);
		ssize_t r;
		while ((r = zc_udp_recvfrom(s, buf, 65536, NULL, NULL)) >= 0) {
			if ((size_t)r == n && memcmp(buf, want, n) == 0)
				return 0;
			(*bad)++; /* a late echo of an earlier try is not counted as ours */
		}
	}
	return -1;
}

static int client(struct zc_stack *st, uint32_t peer, uint16_t port, int pings, int dgrams,
		  size_t max_size, uint64_t deadline)
{
	int failures = 0, stray = 0;
	static uint8_t out[65536], in[65536];
	/* pings: one at a time, each waits up to 1 s */
	zc_ping_open(st, (uint16_t)getpid());
	int ok_pings = 0;
	for (int i = 0; i < pings && now_ns() < deadline; i++) {
		fill(out, 56, (uint32_t)i);
		int r = zc_ping_send(st, peer, (uint16_t)i, out, 56);
		if (r) {
			fprintf(stderr, "stack_peer: ping %d: %s\n", i, strerror(-r));
			failures++;
			continue;
		}
		uint64_t until = now_ns() + 1000000000ull;
		bool got = false;
		while (!got && now_ns() < until) {
			step(st);
			uint16_t seq;
			ssize_t n;
			while ((n = zc_ping_recv(st, &seq, NULL, in, sizeof(in))) >= 0)
				if (seq == (uint16_t)i && n == 56 && memcmp(in, out, 56) == 0)
					got = true;
		}
		ok_pings += got;
	}
	zc_ping_close(st);
	printf("pings %d/%d\n", ok_pings, pings);
	if (ok_pings != pings)
		failures++;

	struct zc_udp_sock *s = zc_udp_open(st);
	uint64_t hs = 0xcbf29ce484222325ull, hr = hs;
	int ok = 0, retries = 0;
	for (int i = 0; i < dgrams && now_ns() < deadline; i++) {
		size_t sizes[] = { 1, 18, 100, 512, 1000, 1400, max_size / 2, max_size };
		size_t n = sizes[i % 8] <= max_size ? sizes[i % 8] : max_size;
		fill(out, n, 1000u + (uint32_t)i);
		hs = fnv(hs, out, n);
		int got = -1;
		for (int t = 0; t < 5 && got != 0; t++) {
			if (t)
				retries++;
			ssize_t w = zc_udp_sendto(s, out, n, peer, port);
			if (w < 0) {
				fprintf(stderr, "stack_peer: send %zu bytes: %s\n", n, strerror((int)-w));
				break;
			}
			got = await_echo(st, s, out, n, in, now_ns() + 500000000ull, &stray);
		}
		if (got == 0) {
			hr = fnv(hr, in, n);
			ok++;
		}
	}
	printf("datagrams %d/%d retries %d stray %d\n", ok, dgrams, retries, stray);
	printf("hash sent %016" PRIx64 " received %016" PRIx64 "\n", hs, hr);
	if (ok != dgrams || hs != hr)
		failures++;
	zc_udp_sendto(s, "BYE", 3, peer, port);
	await_echo(st, s, (const uint8_t *)"BYE", 3, in, now_ns() + 1000000000ull, &stray);
	zc_udp_close(s);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *nic = NULL, *ipstr = NULL, *role = NULL, *peerstr = NULL, *gwstr = NULL;
	long port = 7777, pings = 100, dgrams = 200, timeout = 60;
	long max_size = 0, icmp_rate = 0;
	static const struct option opts[] = {
		{ "nic", required_argument, 0, 'n' },      { "ip", required_argument, 0, 'i' },
		{ "role", required_argument, 0, 'r' },     { "peer", required_argument, 0, 'p' },
		{ "port", required_argument, 0, 'P' },     { "pings", required_argument, 0, 'c' },
		{ "datagrams", required_argument, 0, 'd' }, { "max-size", required_argument, 0, 'm' },
		{ "timeout", required_argument, 0, 't' },  { "gw", required_argument, 0, 'g' },
		{ "icmp-rate", required_argument, 0, 'R' },
		{ "help", no_argument, 0, 'h' },           { 0, 0, 0, 0 }
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n': nic = optarg; break;
		case 'i': ipstr = optarg; break;
		case 'r': role = optarg; break;
		case 'p': peerstr = optarg; break;
		case 'g': gwstr = optarg; break;
		case 'P': port = strtol(optarg, NULL, 0); break;
		case 'c': pings = strtol(optarg, NULL, 0); break;
		case 'd': dgrams = strtol(optarg, NULL, 0); break;
		case 'm': max_size = strtol(optarg, NULL, 0); break;
		case 't': timeout = strtol(optarg, NULL, 0); break;
		case 'R': icmp_rate = strtol(optarg, NULL, 0); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	bool is_client = role && strcmp(role, "client") == 0;
	bool is_replay = role && strcmp(role, "replay") == 0;
	if (!nic || !ipstr || !role || (!is_client && !is_replay && strcmp(role, "responder") != 0) ||
	    (is_client && !peerstr) || port <= 0 || port > 65535 || timeout <= 0 || pings < 0 ||
	    dgrams < 0 || max_size < 0 || icmp_rate < 0 || icmp_rate > 1000000) {
		usage(stderr);
		return 2;
	}
	uint32_t peer = 0;
	if (peerstr && zc_parse_ipv4(peerstr, &peer, NULL, 0)) {
		fprintf(stderr, "stack_peer: bad address in --peer\n");
		return 2;
	}
	struct zc_stack_config cfg = { .seed = (uint64_t)getpid(), .icmp_rate = (uint32_t)icmp_rate };
	struct zc_stack *st = peer_open("stack_peer", nic, ipstr, gwstr, &cfg);
	if (st == NULL)
		return 2;
	size_t mtu_max = cfg.nif->caps.mtu - 28;
	if (max_size == 0 || (size_t)max_size > mtu_max)
		max_size = (long)mtu_max;
	uint64_t deadline = now_ns() + (uint64_t)timeout * 1000000000ull;
	int rc = is_client ? client(st, peer, (uint16_t)port, (int)pings, (int)dgrams, (size_t)max_size,
				    deadline)
			   : responder(st, (uint16_t)port, deadline, is_replay);
	zc_stack_dump(st, stdout);
	struct zc_netif_stats ns;
	cfg.nif->ops->get_stats(cfg.nif, &ns);
	printf("nic.rx_packets %" PRIu64 "\nnic.tx_packets %" PRIu64 "\nnic.rx_dropped %" PRIu64
	       "\nnic.tx_dropped %" PRIu64 "\nnic.zc_frames %" PRIu64 "\nnic.dma_bytes %" PRIu64 "\n",
	       ns.rx_packets, ns.tx_packets, ns.rx_dropped, ns.tx_dropped, ns.zc_frames, ns.dma_bytes);
	struct zc_dpdk_stats ds;
	if (zc_dpdk_get_stats(cfg.nif, &ds) == 0)
		printf("dpdk.align_hits %" PRIu64 "\ndpdk.align_misses %" PRIu64 "\ndpdk.rx_copied %" PRIu64
		       "\ndpdk.tx_attached %" PRIu64 "\ndpdk.tx_copied_bytes %" PRIu64 "\ndpdk.rx_chained %" PRIu64
		       "\ndpdk.tx_csum %" PRIu64 "\ndpdk.tx_csum_sw %" PRIu64 "\n",
		       ds.align_hits, ds.align_misses, ds.rx_copied, ds.tx_attached, ds.tx_copied_bytes,
		       ds.rx_chained, ds.tx_csum, ds.tx_csum_sw);
	zc_stack_destroy(st);
	zc_netif_close(cfg.nif);
	return rc;
}
