/*
 * tcp_sim - two stacks in one process on a Trapeze wire, in virtual time,
 * moving data over one TCP connection through seeded faults.
 *
 *   tcp_sim [--bytes N] [--both-ways] [--loss P] [--dup P] [--reorder P]
 *           [--corrupt P] [--delay DUR] [--mtu BYTES] [--seed S] [--replay]
 *           [--cc NAME] [--no-sack] [--no-tlp] [--no-rack] [--no-hystart] [--csv] [--rcvbuf BYTES]
 *           [--arena] [--fail-sweep]
 *
 * Each side sends N bytes of a seeded stream (the server only with
 * --both-ways), shuts down its write side, reads to end of stream and
 * closes. The run passes when every SHA-256 of what was sent equals that of
 * what was received, both stacks end with no TCB (TIME_WAIT ran out) and
 * both pools hold exactly their posted receive frames (nothing leaked).
 * It prints its seed; the same seed replays bit for bit: --replay runs the
 * same configuration twice and compares a digest of everything both stacks
 * counted and the virtual time it took. --cc picks both ends' congestion
 * control, --no-sack turns SACK off at both ends (NewReno recovery alone),
 * --no-tlp tail loss probes, --no-rack RACK's loss detection by time, --no-hystart HyStart++; --rcvbuf sets both ends' receive buffers;
 * --csv ends with one line of figures for tables (bench/loss_table.py):
 * goodput of the client's direction in virtual time, bytes retransmitted,
 * DSACKs (spurious retransmissions), recovery episodes, timeouts.
 * --arena puts each stack's state in an arena of its own (as a shared
 * stack's is), and its leaks are checked too. --fail-sweep makes each
 * allocation of the run fail in a run of its own (see fail_sweep()).
 */
#include "nic/capture.h"
#include "nic/faults.h"
#include "nic/trapeze.h"
#include "sha256.h"
#include "stack/arena.h"
#include "stack/log.h"
#include "stack/pool.h"
#include "stack/rng.h"
#include "stack/stack.h"
#include "stack/tcp.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct opts {
	uint64_t bytes;
	bool both;
	struct zc_fault_config f;
	uint32_t mtu;
	uint64_t seed;
	bool quiet;
	const char *cc;
	bool no_sack, no_tlp, no_rack, no_hystart, csv;
	uint32_t rcvbuf;
	bool arena;        /* each stack's state in an arena of its own (stack/arena.h) */
	int fail_side;     /* 0: no injection; 1: the client's, 2: the server's */
	int fail_in;       /* 0: its pool (frames, mbuf headers); 1: its arena */
	uint64_t fail_n;   /* the n-th allocation after the NIC is open fails */
};

/* What a run saw besides pass or fail. */
struct run_out {
	const char *clean;    /* the clean error an injected failure gave, or NULL */
	uint64_t calls[2][2]; /* [port][0 pool, 1 arena]: allocations asked for after the NIC opened */
	uint64_t injected;    /* failures the injection made (0: the n-th was never asked for) */
};

struct side {
	const char *name;
	struct zc_netif *nif, *wrapped;
	struct zc_arena *arena;
	uint64_t pool_base, arena_base;
	struct zc_stack *st;
	struct zc_tcp_sock *ls, *s;
	uint64_t to_send, sent, received;
	struct sha256 hs, hr;
	struct zc_rng gen;
	uint8_t chunk[65536];
	uint32_t chunk_len, chunk_off;
	bool wr_done, eof, closed;
	int err; /* a send or recv that failed (its errno) */
	uint64_t retries; /* sends told ENOBUFS (tried again) */
};

static void fill_chunk(struct side *d)
{
	uint64_t left = d->to_send - d->sent;
	uint32_t n = left < sizeof(d->chunk) ? (uint32_t)left : (uint32_t)sizeof(d->chunk);
	/* vary write sizes: odd lengths exercise partial segments */
	uint32_t cap = 1 + (uint32_t)zc_rng_below(&d->gen, sizeof(d->chunk));
	if (n > cap)
		n = cap;
	for (uint32_t i = 0; i < n; i += 8) {
		uint64_t x = zc_rng_next(&d->gen);
		memcpy(d->chunk + i, &x, n - i < 8 ? n - i : 8);
	}
	d->chunk_len = n;
	d->chunk_off = 0;
}

/* Application work of one side; returns true when something moved. */
static bool app_step(struct side *d, int *fail)
{
	bool moved = false;
	if (d->s == NULL && d->ls) {
		int err;
		d->s = zc_tcp_accept(d->ls, &err);
		if (d->s)
			moved = true;
	}
	struct zc_tcp_sock *s = d->s;
	if (s == NULL || d->closed)
		return moved;
	enum zc_tcp_state state = zc_tcp_get_state(s);
	if (state == ZC_TCP_SYN_SENT || state == ZC_TCP_SYN_RECEIVED)
		return moved;
	while (d->sent < d->to_send) {
		if (d->chunk_off == d->chunk_len)
			fill_chunk(d);
		ssize_t w = zc_tcp_send(s, d->chunk + d->chunk_off, d->chunk_len - d->chunk_off);
		if (w == -EAGAIN)
			break;
		if (w == -ENOBUFS) { /* the pool is dry now: try again later, as sockapi's send does */
			d->retries++;
			break;
		}
		if (w < 0) {
			fprintf(stderr, "tcp_sim: %s: send: %s\n", d->name, strerror((int)-w));
			d->err = (int)-w;
			(*fail)++;
			d->closed = true;
			return true;
		}
		sha256_update(&d->hs, d->chunk + d->chunk_off, (size_t)w);
		d->chunk_off += (uint32_t)w;
		d->sent += (uint64_t)w;
		moved = true;
	}
	if (d->sent == d->to_send && !d->wr_done) {
		zc_tcp_shutdown(s, 1);
		d->wr_done = true;
		moved = true;
	}
	static uint8_t buf[1 << 17];
	while (!d->eof) {
		ssize_t r = zc_tcp_recv(s, buf, 1 + (size_t)zc_rng_below(&d->gen, sizeof(buf)));
		if (r == -EAGAIN)
			break;
		if (r < 0) {
			fprintf(stderr, "tcp_sim: %s: recv: %s\n", d->name, strerror((int)-r));
			d->err = (int)-r;
			(*fail)++;
			d->closed = true;
			return true;
		}
		if (r == 0) {
			d->eof = true;
		} else {
			sha256_update(&d->hr, buf, (size_t)r);
			d->received += (uint64_t)r;
		}
		moved = true;
	}
	if (d->eof && d->wr_done) {
		zc_tcp_close(s);
		d->s = NULL;
		d->closed = true;
		moved = true;
	}
	return moved;
}

static int open_side(struct side *d, const char *wire, int port, uint32_t ip, const struct opts *o,
		     uint64_t now)
{
	struct zc_trapeze_config tc = { .name = wire, .port = port, .mtu = o->mtu, .nframes = 8192 };
	d->nif = zc_trapeze_open(&tc);
	if (d->nif == NULL)
		return -1;
	d->wrapped = d->nif;
	const char *pcap = getenv("ZCS_PCAP"); /* the wire as each side sends it */
	if (pcap && *pcap) {
		char path[256];
		snprintf(path, sizeof(path), "%s.%s", pcap, port ? "server" : "client");
		d->wrapped = zc_capture_wrap(d->nif, path);
		if (d->wrapped == NULL)
			return -1;
	}
	struct zc_fault_config f = o->f;
	f.seed = o->seed * 2 + (uint64_t)port + 1;
	f.dir = ZC_FAULT_TX;
	if (f.loss > 0 || f.dup > 0 || f.reorder > 0 || f.corrupt > 0 || f.delay_ns) {
		d->wrapped = zc_faults_wrap(d->wrapped, &f);
		if (d->wrapped == NULL)
			return -1;
	}
	if (o->arena && zc_arena_create(64u << 20, &d->arena) != 0)
		return -1;
	struct zc_pool_stats ps;
	zc_pool_get_stats(d->nif->pool, &ps);
	d->pool_base = ps.alloc_calls;
	if (d->arena) {
		struct zc_arena_stats as;
		zc_arena_stats(d->arena, &as);
		d->arena_base = as.allocs + as.failures;
	}
	if (o->fail_side == port + 1) {
		if (o->fail_in == 0)
			zc_pool_fail_nth(d->nif->pool, (uint32_t)o->fail_n);
		else if (d->arena)
			zc_arena_fail_nth(d->arena, o->fail_n);
	}
	struct zc_stack_config sc = { .nif = d->wrapped, .ip = ip, .prefix_len = 24, .arena = d->arena,
				      .seed = o->seed * 7 + (uint64_t)port, .now = now };
	d->st = zc_stack_create(&sc);
	if (d->st == NULL)
		return 1; /* clean when an allocation was made to fail */
	struct zc_tcp_config tcfg = { .msl_ns = 1000000000ull, /* TIME_WAIT 2 s */
				      .cc = o->cc, .no_sack = o->no_sack, .no_tlp = o->no_tlp, .no_rack = o->no_rack,
				      .no_hystart = o->no_hystart, .rcvbuf = o->rcvbuf };
	if (zc_tcp_configure(d->st, &tcfg) != 0) {
		fprintf(stderr, "tcp_sim: --cc %s: no such congestion control\n", o->cc);
		return -1;
	}
	zc_rng_seed(&d->gen, o->seed * 13 + (uint64_t)port);
	sha256_init(&d->hs);
	sha256_init(&d->hr);
	return 0;
}

static uint64_t digest_stack(uint64_t h, struct zc_stack *st)
{
	struct zc_tcp_stats ts;
	zc_tcp_get_stats(st, &ts);
	const uint64_t *p = (const uint64_t *)&ts;
	for (size_t i = 0; i < sizeof(ts) / 8; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	const struct zc_drops *dr = zc_stack_drops(st);
	for (int i = 0; i < ZC_DROP__COUNT; i++)
		h = (h ^ dr->n[i]) * 0x100000001b3ull;
	return h;
}

/* The injected failures of a side so far. */
static uint64_t injected(const struct side *d)
{
	uint64_t n = 0;
	if (d->nif) {
		struct zc_pool_stats ps;
		zc_pool_get_stats(d->nif->pool, &ps);
		n += ps.injected_failures;
	}
	if (d->arena) {
		struct zc_arena_stats as;
		zc_arena_stats(d->arena, &as);
		n += as.injected;
	}
	return n;
}

/* Destroy both stacks, then check that nothing leaked: only the posted
 * receive frames are out of each pool (after each side took back what the
 * other pulled) and every arena allocation was freed; then close. */
static int teardown(struct side *a, struct side *b, struct run_out *out)
{
	int fail = 0;
	struct side *d[2] = { a, b };
	for (int i = 0; i < 2; i++)
		if (d[i]->st) {
			zc_stack_destroy(d[i]->st);
			d[i]->st = NULL;
		}
	for (int i = 0; i < 2; i++)
		if (d[i]->nif)
			zc_trapeze_reap(d[i]->nif);
	for (int i = 0; i < 2; i++) {
		if (d[i]->nif == NULL)
			continue;
		struct zc_pool_stats ps;
		zc_pool_get_stats(d[i]->nif->pool, &ps);
		out->calls[i][0] = ps.alloc_calls - d[i]->pool_base;
		out->injected += ps.injected_failures;
		if (zc_pool_outstanding(d[i]->nif->pool) != zc_trapeze_posted(d[i]->nif)) {
			printf("FAIL: %s: frames leaked: %u out, %u posted\n", d[i]->name,
			       zc_pool_outstanding(d[i]->nif->pool), zc_trapeze_posted(d[i]->nif));
			fail++;
		}
	}
	for (int i = 0; i < 2; i++) {
		if (d[i]->wrapped)
			zc_netif_close(d[i]->wrapped);
		d[i]->nif = d[i]->wrapped = NULL;
		if (d[i]->arena) {
			struct zc_arena_stats as;
			zc_arena_stats(d[i]->arena, &as);
			out->calls[i][1] = as.allocs + as.failures - d[i]->arena_base;
			out->injected += as.injected;
			if (as.allocs != as.frees || as.bytes_in_use != 0) {
				printf("FAIL: %s: arena leaked: %" PRIu64 " allocations, %" PRIu64 " frees, %" PRIu64
				       " bytes in use\n", d[i]->name, as.allocs, as.frees, as.bytes_in_use);
				fail++;
			}
			zc_arena_destroy(d[i]->arena);
			d[i]->arena = NULL;
		}
	}
	return fail;
}

/* A failure an injected allocation failure may cleanly cause: the error
 * a caller is told when memory runs out. */
static bool clean_errno(int e)
{
	return e == ENOMEM || e == ENOBUFS;
}

/* One run; returns failures (0 = pass) and the run's digest. */
static int run(const struct opts *o, uint64_t *digest, struct run_out *out)
{
	char wire[32];
	snprintf(wire, sizeof(wire), "sim%d", (int)getpid());
	zc_trapeze_unlink(wire);
	uint64_t now = 1000000000ull;
	static struct side a, b;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.name = "client";
	b.name = "server";
	int ra = open_side(&a, wire, 0, 0x0a000001u, o, now);
	int rb = ra < 0 ? -1 : open_side(&b, wire, 1, 0x0a000002u, o, now);
	if (ra || rb) {
		if (ra >= 0 && rb >= 0 && (injected(&a) || injected(&b))) {
			out->clean = "stack create";
			return teardown(&a, &b, out);
		}
		fprintf(stderr, "tcp_sim: cannot open the wire or the stacks\n");
		teardown(&a, &b, out);
		return 1;
	}
	a.to_send = o->bytes;
	b.to_send = o->both ? o->bytes : 0;
	int fail = 0;
	b.ls = zc_tcp_socket(b.st);
	a.s = zc_tcp_socket(a.st);
	int rc = -EINVAL;
	if (b.ls == NULL || a.s == NULL || zc_tcp_bind(b.ls, 0, 5000) != 0 || zc_tcp_listen(b.ls, 16) != 0 ||
	    (rc = zc_tcp_connect(a.s, 0x0a000002u, 5000)) != -EINPROGRESS) {
		if ((injected(&a) || injected(&b)) && (b.ls == NULL || a.s == NULL || clean_errno(-rc))) {
			out->clean = b.ls == NULL || a.s == NULL ? "socket" : "connect";
			return teardown(&a, &b, out);
		}
		fprintf(stderr, "tcp_sim: the connection did not start (%s)\n", strerror(-rc));
		teardown(&a, &b, out);
		return 1;
	}
	uint64_t t_rx = 0, iters = 0, limit_ns = now + 3600ull * 1000000000ull;
	while (!(a.closed && b.closed) && now < limit_ns && !fail) {
		bool moved = zc_stack_poll(a.st, now) > 0;
		moved |= zc_stack_poll(b.st, now) > 0;
		moved |= app_step(&a, &fail);
		moved |= app_step(&b, &fail);
		if (fail && (injected(&a) || injected(&b)) && (clean_errno(a.err) || clean_errno(b.err))) {
			out->clean = "send or recv";
			fail = 0;
			break;
		}
		if (t_rx == 0 && b.received == a.to_send)
			t_rx = now; /* the client's direction is delivered */
		iters++;
		if (moved) {
			now += 1000; /* a microsecond of work */
			continue;
		}
		uint64_t na = zc_stack_next_timer(a.st), nb = zc_stack_next_timer(b.st);
		uint64_t next = na < nb ? na : nb;
		if (next == UINT64_MAX) {
			fprintf(stderr, "tcp_sim: stuck: nothing to do and no timer (client %s, server %s)\n",
				a.s ? zc_tcp_state_name(zc_tcp_get_state(a.s)) : "closed",
				b.s ? zc_tcp_state_name(zc_tcp_get_state(b.s)) : "none");
			fail++;
			break;
		}
		now = next > now ? next : now + 1000;
	}
	if (out->clean) { /* stop: close what is open, let both stacks settle, check for leaks */
		if (a.s && !a.closed)
			zc_tcp_close(a.s);
		if (b.s && !b.closed)
			zc_tcp_close(b.s);
		zc_tcp_close(b.ls);
		for (uint64_t end = now + 10000000000ull; now < end; now += 1000000) {
			zc_stack_poll(a.st, now);
			zc_stack_poll(b.st, now);
		}
		return teardown(&a, &b, out);
	}
	if (!(a.closed && b.closed)) {
		fprintf(stderr, "tcp_sim: did not finish (sent %" PRIu64 "/%" PRIu64 ", received %" PRIu64
				"/%" PRIu64 ")\n", a.sent, a.to_send, b.received, a.to_send);
		fail++;
	}
	uint64_t t_done = now;
	/* let TIME_WAIT and the last ACKs run out, then what is still on the
	 * wire (a delayed duplicate, the answer to it) arrive */
	uint64_t quiet = 0;
	for (uint64_t end = now + 10000000000ull; now < end; now += 1000000) {
		zc_stack_poll(a.st, now);
		zc_stack_poll(b.st, now);
		if (quiet == 0 && zc_tcp_count(a.st) == 0 && zc_tcp_count(b.st) == 1) /* the listener */
			quiet = now + 4 * o->f.delay_ns + 10000000ull;
		if (quiet && now >= quiet)
			break;
	}
	char h1[65], h2[65], h3[65], h4[65];
	sha256_hex(&a.hs, h1);
	sha256_hex(&b.hr, h2);
	sha256_hex(&b.hs, h3);
	sha256_hex(&a.hr, h4);
	if (!o->quiet) {
		printf("client->server %" PRIu64 " bytes: sent %s\n", a.sent, h1);
		printf("                      received %s\n", h2);
		if (o->both)
			printf("server->client %" PRIu64 " bytes: sent %s\n                      received %s\n",
			       b.sent, h3, h4);
	}
	if (strcmp(h1, h2) || strcmp(h3, h4) || b.received != a.to_send || a.received != b.to_send) {
		printf("FAIL: data differs\n");
		fail++;
	}
	if (zc_tcp_count(a.st) != 0 || zc_tcp_count(b.st) != 1) {
		printf("FAIL: TCBs left: client %u, server %u (want 0 and the listener)\n",
		       zc_tcp_count(a.st), zc_tcp_count(b.st));
		fail++;
	}
	*digest = digest_stack(digest_stack(t_done, a.st), b.st);
	struct zc_tcp_stats sa, sb;
	zc_tcp_get_stats(a.st, &sa);
	zc_tcp_get_stats(b.st, &sb);
	if (!o->quiet)
		printf("virtual time %.3f s, segments %" PRIu64 "/%" PRIu64 ", retransmitted %" PRIu64
		       "/%" PRIu64 ", timeouts %" PRIu64 "/%" PRIu64 ", fast retransmits %" PRIu64 "/%" PRIu64
		       ", digest %016" PRIx64 "\n",
		       (double)(t_done - 1000000000ull) / 1e9, sa.segs_out, sb.segs_out, sa.retrans_segs,
		       sb.retrans_segs, sa.timeouts, sb.timeouts, sa.fast_retransmits, sb.fast_retransmits,
		       *digest);
	if (o->csv && !o->quiet) {
		/* the client's direction: its sender's counters, its goodput */
		double secs = (double)(t_rx - 1000000000ull) / 1e9;
		printf("csv: goodput_mbit=%.3f retrans_bytes=%" PRIu64 " dsacks=%" PRIu64 " recoveries=%" PRIu64
		       " sack_recoveries=%" PRIu64 " timeouts=%" PRIu64 " rescues=%" PRIu64 " tlp=%" PRIu64
		       " secs=%.3f\n",
		       secs > 0 ? (double)a.to_send * 8 / secs / 1e6 : 0.0, sa.bytes_retrans, sa.dsacks_in,
		       sa.fast_retransmits, sa.sack_recoveries, sa.timeouts, sa.sack_rescues, sa.tlp_probes, secs);
	}
	zc_tcp_close(b.ls);
	fail += teardown(&a, &b, out);
	(void)iters;
	return fail;
}

/* --fail-sweep: a clean run counts the allocations each side asks of its
 * pool (frames, mbuf headers) and of its arena (stack, tables, control
 * blocks, timer heap, RACK maps) from its NIC's opening to its closing;
 * then one run per allocation makes exactly that one fail. Each run must
 * pass (TCP retried: same hashes, no TCB left) or stop at a clean error
 * (ENOMEM/ENOBUFS from the call that could not allocate), and in both
 * cases leak nothing. */
static int fail_sweep(struct opts *o)
{
	static const char *side[2] = { "client", "server" }, *layer[2] = { "pool", "arena" };
	uint64_t d;
	struct run_out base = { 0 };
	o->quiet = true;
	if (run(o, &d, &base)) {
		printf("FAIL: the run without injection failed\n");
		return 1;
	}
	int fails = 0;
	for (int in = 0; in < (o->arena ? 2 : 1); in++) {
		for (int sd = 0; sd < 2; sd++) {
			uint64_t total = base.calls[sd][in], passed = 0, clean = 0, unhit = 0, f = 0;
			uint64_t clean_by[4] = { 0 };
			static const char *kinds[4] = { "stack create", "socket", "connect", "send or recv" };
			for (uint64_t n = 1; n <= total; n++) {
				o->fail_side = sd + 1;
				o->fail_in = in;
				o->fail_n = n;
				struct run_out r = { 0 };
				if (run(o, &d, &r)) {
					printf("FAIL: %s %s allocation %" PRIu64 " of %" PRIu64 " failed\n", side[sd],
					       layer[in], n, total);
					f++;
				} else if (r.clean) {
					clean++;
					for (int k = 0; k < 4; k++)
						clean_by[k] += strcmp(r.clean, kinds[k]) == 0;
				} else if (r.injected == 0) {
					unhit++;
				} else {
					passed++;
				}
			}
			printf("%s %s: %" PRIu64 " allocations, each failed in a run of its own: %" PRIu64
			       " runs retried and passed, %" PRIu64 " stopped at a clean error (stack create %" PRIu64
			       ", socket %" PRIu64 ", connect %" PRIu64 ", send/recv %" PRIu64 "), %" PRIu64
			       " never reached it, %" PRIu64 " failed\n",
			       side[sd], layer[in], total, passed, clean, clean_by[0], clean_by[1], clean_by[2],
			       clean_by[3], unhit, f);
			fails += (int)f;
		}
	}
	o->fail_side = 0;
	if (fails)
		printf("FAIL: %d runs failed\n", fails);
	else
		printf("PASS: every allocation failure was retried or a clean error, nothing leaked\n");
	return fails ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .bytes = 100u << 20, .mtu = 16384, .seed = 1 };
	bool replay = false, sweep = false;
	static const struct option lo[] = {
		{ "bytes", required_argument, 0, 'b' }, { "both-ways", no_argument, 0, 'w' },
		{ "loss", required_argument, 0, 'l' },  { "dup", required_argument, 0, 'd' },
		{ "reorder", required_argument, 0, 'r' }, { "corrupt", required_argument, 0, 'c' },
		{ "delay", required_argument, 0, 'D' }, { "mtu", required_argument, 0, 'm' },
		{ "seed", required_argument, 0, 's' },  { "replay", no_argument, 0, 'R' },
		{ "cc", required_argument, 0, 'C' },    { "no-sack", no_argument, 0, 'S' },
		{ "csv", no_argument, 0, 'V' },        { "rcvbuf", required_argument, 0, 'B' },
		{ "no-tlp", no_argument, 0, 'T' },    { "no-rack", no_argument, 0, 'K' },    { "no-hystart", no_argument, 0, 'H' },
		{ "arena", no_argument, 0, 'A' },     { "fail-sweep", no_argument, 0, 'F' },
		{ "help", no_argument, 0, 'h' },        { 0, 0, 0, 0 }
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'b': o.bytes = strtoull(optarg, NULL, 0); break;
		case 'w': o.both = true; break;
		case 'l': o.f.loss = atof(optarg); break;
		case 'd': o.f.dup = atof(optarg); break;
		case 'r': o.f.reorder = atof(optarg); break;
		case 'c': o.f.corrupt = atof(optarg); break;
		case 'D':
			if (zc_parse_duration(optarg, &o.f.delay_ns)) {
				fprintf(stderr, "tcp_sim: bad --delay\n");
				return 2;
			}
			break;
		case 'm': o.mtu = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 's': o.seed = strtoull(optarg, NULL, 0); break;
		case 'R': replay = true; break;
		case 'C': o.cc = optarg; break;
		case 'S': o.no_sack = true; break;
		case 'T': o.no_tlp = true; break;
		case 'K': o.no_rack = true; break;
		case 'H': o.no_hystart = true; break;
		case 'V': o.csv = true; break;
		case 'B': o.rcvbuf = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'A': o.arena = true; break;
		case 'F': sweep = true; break;
		case 'h':
			printf("usage: tcp_sim [--bytes N] [--both-ways] [--loss P] [--dup P] [--reorder P]\n"
			       "               [--corrupt P] [--delay DUR] [--mtu BYTES] [--seed S] [--replay]\n"
			       "               [--cc cubic|newreno] [--no-sack] [--no-tlp] [--no-rack] [--no-hystart] [--csv]\n"
			       "               [--rcvbuf BYTES] [--arena] [--fail-sweep]\n");
			return 0;
		default: return 2;
		}
	}
	zc_log_init_env();
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("tcp_sim: seed %" PRIu64 ", %" PRIu64 " bytes%s, loss %.3f dup %.3f reorder %.3f corrupt %.4f "
	       "delay %.1f ms, mtu %u\n", o.seed, o.bytes, o.both ? " each way" : "", o.f.loss, o.f.dup,
	       o.f.reorder, o.f.corrupt, (double)o.f.delay_ns / 1e6, o.mtu);
	uint64_t d1 = 0, d2 = 0;
	if (sweep)
		return fail_sweep(&o);
	struct run_out out = { 0 };
	int fail = run(&o, &d1, &out);
	if (replay && !fail) {
		o.quiet = true;
		fail += run(&o, &d2, &out);
		if (d1 != d2) {
			printf("FAIL: the same seed did not replay: digest %016" PRIx64 " then %016" PRIx64 "\n", d1, d2);
			fail++;
		} else {
			printf("replayed: digest %016" PRIx64 " again\n", d2);
		}
	}
	printf(fail ? "FAIL (seed %" PRIu64 ")\n" : "PASS (seed %" PRIu64 ")\n", o.seed);
	return fail ? 1 : 0;
}
