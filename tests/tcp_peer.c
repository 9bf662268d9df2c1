/*
 * tcp_peer - one TCP connection on a stack process on any NIC, for tests
 * whose other end is another stack process or the Linux kernel.
 *
 *   tcp_peer --nic SPEC --ip ADDR/PREFIX (--listen PORT | --connect IP:PORT)
 *            [--send BYTES] [--seed S] [--timeout SECONDS] [--gw IP] [--wait MS]
 *       Establishes one connection, sends BYTES of a seeded stream, shuts
 *       down its write side, reads to end of stream, closes, and prints
 *       "sent N SHA256" and "received N SHA256", then the stack's counters.
 *   tcp_peer --gen BYTES [--seed S]
 *       Writes the same stream to stdout (for a kernel-side nc), and prints
 *       its SHA-256 on stderr.
 *
 * ZCS_FAULTS and ZCS_PCAP apply to the NIC (nic/open.h). Exit status 0 when
 * the connection ended cleanly, 1 otherwise, 2 on bad usage.
 */
#include "nic/open.h"
#include "peer_common.h"
#include "sha256.h"
#include "stack/log.h"
#include "stack/rng.h"
#include "stack/stack.h"
#include "stack/tcp.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


/* The seeded stream: 64 KiB blocks of xoshiro output. */
struct gen {
	struct zc_rng r;
	uint8_t buf[65536];
	uint32_t len, off;
};
static void gen_next(struct gen *g)
{
	for (uint32_t i = 0; i < sizeof(g->buf); i += 8) {
		uint64_t x = zc_rng_next(&g->r);
		memcpy(g->buf + i, &x, 8);
	}
	g->len = sizeof(g->buf);
	g->off = 0;
}

static uint64_t parse_size(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	if (*end == 'K' || *end == 'k')
		v *= 1024;
	else if (*end == 'M')
		v *= 1024 * 1024;
	else if (*end == 'G')
		v *= 1024.0 * 1024 * 1024;
	return (uint64_t)v;
}

static int gen_only(uint64_t n, uint64_t seed)
{
	struct gen g;
	zc_rng_seed(&g.r, seed);
	struct sha256 h;
	sha256_init(&h);
	while (n) {
		gen_next(&g);
		uint32_t k = n < g.len ? (uint32_t)n : g.len;
		if (fwrite(g.buf, 1, k, stdout) != k)
			return 1;
		sha256_update(&h, g.buf, k);
		n -= k;
	}
	fflush(stdout);
	char hex[65];
	sha256_hex(&h, hex);
	fprintf(stderr, "%s\n", hex);
	return 0;
}

int main(int argc, char **argv)
{
	const char *nic = NULL, *ipstr = NULL, *conn = NULL, *gwstr = NULL;
	long listen_port = 0, timeout = 120, wait_ms = 0;
	uint64_t send_n = 0, gen_n = 0, seed = 1;
	bool gen = false;
	static const struct option lo[] = {
		{ "nic", required_argument, 0, 'n' },    { "ip", required_argument, 0, 'i' },
		{ "listen", required_argument, 0, 'l' }, { "connect", required_argument, 0, 'c' },
		{ "send", required_argument, 0, 's' },   { "seed", required_argument, 0, 'S' },
		{ "timeout", required_argument, 0, 't' }, { "gen", required_argument, 0, 'g' },
		{ "gw", required_argument, 0, 'G' },     { "help", no_argument, 0, 'h' },
		{ "wait", required_argument, 0, 'w' },
		{ 0, 0, 0, 0 }
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'n': nic = optarg; break;
		case 'i': ipstr = optarg; break;
		case 'l': listen_port = strtol(optarg, NULL, 0); break;
		case 'c': conn = optarg; break;
		case 's': send_n = parse_size(optarg); break;
		case 'S': seed = strtoull(optarg, NULL, 0); break;
		case 't': timeout = strtol(optarg, NULL, 0); break;
		case 'g': gen = true; gen_n = parse_size(optarg); break;
		case 'G': gwstr = optarg; break;
		case 'w': wait_ms = strtol(optarg, NULL, 0); break;
		default:
			fprintf(c == 'h' ? stdout : stderr,
				"usage: tcp_peer --nic SPEC --ip ADDR/PREFIX (--listen PORT | --connect IP:PORT)\n"
				"                [--send BYTES] [--seed S] [--timeout S] [--gw IP] [--wait MS]\n"
				"       tcp_peer --gen BYTES [--seed S]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (gen)
		return gen_only(gen_n, seed);
	uint32_t rip = 0;
	uint16_t rport = 0;
	if (conn) {
		char host[64];
		const char *colon = strrchr(conn, ':');
		if (colon == NULL || (size_t)(colon - conn) >= sizeof(host)) {
			fprintf(stderr, "tcp_peer: --connect wants IP:PORT\n");
			return 2;
		}
		memcpy(host, conn, (size_t)(colon - conn));
		host[colon - conn] = '\0';
		long p = strtol(colon + 1, NULL, 10);
		if (zc_parse_ipv4(host, &rip, NULL, 0) || p <= 0 || p > 65535) {
			fprintf(stderr, "tcp_peer: bad --connect %s\n", conn);
			return 2;
		}
		rport = (uint16_t)p;
	}
	if (!nic || !ipstr || (!conn == !listen_port) || listen_port < 0 || listen_port > 65535) {
		fprintf(stderr, "tcp_peer: need --nic, --ip and one of --listen or --connect (--help)\n");
		return 2;
	}
	struct zc_stack_config cfg = { .seed = seed * 31 + (uint64_t)getpid() };
	struct zc_stack *st = peer_open("tcp_peer", nic, ipstr, gwstr, &cfg);
	if (st == NULL)
		return 2;
	struct zc_tcp_sock *ls = NULL, *s = NULL;
	if (listen_port) {
		ls = zc_tcp_socket(st);
		if (zc_tcp_bind(ls, 0, (uint16_t)listen_port) || zc_tcp_listen(ls, 4)) {
			fprintf(stderr, "tcp_peer: cannot listen on %ld\n", listen_port);
			return 2;
		}
	} else {
		/* --wait: run the stack a while first (a tap peer coming up) */
		for (uint64_t end = now_ns() + (uint64_t)wait_ms * 1000000ull; now_ns() < end;)
			if (zc_stack_poll(st, now_ns()) == 0)
				zc_stack_wait(st, now_ns(), 1000000);
		s = zc_tcp_socket(st);
		zc_tcp_connect(s, rip, rport);
	}
	struct gen g = { .len = 0, .off = 0 };
	zc_rng_seed(&g.r, seed);
	struct sha256 hs, hr;
	sha256_init(&hs);
	sha256_init(&hr);
	uint64_t sent = 0, received = 0;
	bool wr_done = false, eof = false;
	int rc = 1;
	static uint8_t buf[1 << 18];
	uint64_t deadline = now_ns() + (uint64_t)timeout * 1000000000ull, t_start = 0, t_sent = 0, t_eof = 0;
	uint64_t idle_since = 0;
	while (now_ns() < deadline) {
		bool moved = zc_stack_poll(st, now_ns()) > 0;
		if (s == NULL) {
			int err;
			s = zc_tcp_accept(ls, &err);
			if (s == NULL) {
				if (!moved)
					zc_stack_wait(st, now_ns(), 1000000);
				continue;
			}
			moved = true;
		}
		enum zc_tcp_state state = zc_tcp_get_state(s);
		if (state == ZC_TCP_SYN_SENT || state == ZC_TCP_SYN_RECEIVED) {
			if (!moved)
				zc_stack_wait(st, now_ns(), 1000000);
			continue;
		}
		if (t_start == 0)
			t_start = now_ns();
		int e = 0;
		while (sent < send_n) {
			if (g.off == g.len)
				gen_next(&g);
			uint32_t k = g.len - g.off;
			if (k > send_n - sent)
				k = (uint32_t)(send_n - sent);
			ssize_t w = zc_tcp_send(s, g.buf + g.off, k);
			if (w < 0) {
				e = (int)-w;
				break;
			}
			sha256_update(&hs, g.buf + g.off, (size_t)w);
			g.off += (uint32_t)w;
			sent += (uint64_t)w;
			moved = true;
		}
		if (e && e != EAGAIN) {
			fprintf(stderr, "tcp_peer: send: %s\n", strerror(e));
			break;
		}
		e = 0;
		if (sent == send_n && !wr_done) {
			zc_tcp_shutdown(s, 1);
			wr_done = true;
		}
		for (;;) {
			ssize_t r = zc_tcp_recv(s, buf, sizeof(buf));
			if (r == -EAGAIN)
				break;
			if (r < 0) {
				fprintf(stderr, "tcp_peer: recv: %s\n", strerror((int)-r));
				e = (int)-r;
				break;
			}
			if (r == 0) {
				eof = true;
				break;
			}
			sha256_update(&hr, buf, (size_t)r);
			received += (uint64_t)r;
			moved = true;
		}
		if (e)
			break;
		/* each direction's end: ours when all of it is acknowledged */
		if (eof && t_eof == 0)
			t_eof = now_ns();
		if (wr_done && t_sent == 0) {
			struct zc_tcp_info ti;
			zc_tcp_get_info(s, &ti);
			if (ti.tcpi_unacked == 0 && ti.tcpi_notsent_bytes == 0)
				t_sent = now_ns();
		}
		/* done when the peer's data ended and ours (and our FIN) is acknowledged */
		enum zc_tcp_state now_state = zc_tcp_get_state(s);
		if (eof && wr_done &&
		    (now_state == ZC_TCP_FIN_WAIT_2 || now_state == ZC_TCP_TIME_WAIT || now_state == ZC_TCP_CLOSED)) {
			rc = zc_tcp_error(s) ? 1 : 0;
			break;
		}
		/* spin for 50 us after the last work, then sleep on the NIC */
		uint64_t t = now_ns();
		if (moved)
			idle_since = t;
		else if (t - idle_since > 50000)
			zc_stack_wait(st, t, 1000000);
	}
	double secs = t_start ? (double)(now_ns() - t_start) / 1e9 : 0;
	if (rc)
		fprintf(stderr, "tcp_peer: %s (sent %" PRIu64 ", received %" PRIu64 ")\n",
			now_ns() >= deadline ? "timed out" : "connection failed", sent, received);
	if (s) {
		struct zc_tcp_info ti;
		zc_tcp_get_info(s, &ti);
		printf("tcp_info rtt_us %u rto_us %u cwnd %u retrans %u\n", ti.tcpi_rtt, ti.tcpi_rto,
		       ti.tcpi_snd_cwnd, ti.tcpi_total_retrans);
		zc_tcp_close(s);
	}
	/* let the FIN exchange finish */
	for (uint64_t end = now_ns() + 300000000ull; now_ns() < end;)
		if (zc_stack_poll(st, now_ns()) == 0)
			zc_stack_wait(st, now_ns(), 1000000);
	char h1[65], h2[65];
	sha256_hex(&hs, h1);
	sha256_hex(&hr, h2);
	printf("sent %" PRIu64 " %s\n", sent, h1);
	printf("received %" PRIu64 " %s\n", received, h2);
	printf("seconds %.3f MB/s %.1f\n", secs, secs > 0 ? (double)(sent + received) / secs / 1e6 : 0.0);
	/* goodput of each direction from the start: ours until acknowledged,
	 * the peer's until its end of stream */
	double ss = t_sent > t_start && t_start ? (double)(t_sent - t_start) / 1e9 : 0;
	double rs = t_eof > t_start && t_start ? (double)(t_eof - t_start) / 1e9 : 0;
	printf("goodput send_MBps %.1f recv_MBps %.1f send_s %.3f recv_s %.3f\n", ss > 0 ? (double)sent / ss / 1e6 : 0.0,
	       rs > 0 ? (double)received / rs / 1e6 : 0.0, ss, rs);
	zc_stack_dump(st, stdout);
	if (ls)
		zc_tcp_close(ls);
	zc_stack_destroy(st);
	zc_netif_close(cfg.nif);
	return rc;
}
