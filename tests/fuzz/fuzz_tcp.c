/* fuzz_tcp.c - libFuzzer harness 2: sequences of TCP segments against a
 * live connection, in virtual time, with the connection's invariants
 * checked after every step.
 *
 * Input: byte 0 picks the state the fuzzer starts from (below), then
 * records of at least 10 bytes, each one segment from X:40000 and what
 * the application and the clock do after it:
 *   0     TCP flags
 *   1     bits 0-1 the application: 0 nothing, 1 sends 3000 bytes,
 *         2 reads all, 3 shuts down its sending side (a FIN);
 *         bit 2 the checksum is left wrong; bits 4-7 k: the clock runs
 *         k*k ms on (up to 225 ms, so timers fire)
 *   2-3   sequence number, relative to what the stack expects next
 *         (RCV.NXT; a listener's connection: X's ISN + 1), signed
 *   4-5   acknowledgment number, relative to SND.UNA (the stack's ISN
 *         + 1 before there is a connection), signed
 *   6-7   window
 *   8     payload bytes / 8 (up to 2040, a pattern)
 *   9     TCP option bytes that follow (up to 40; the edges of SACK
 *         blocks in them relative to SND.UNA as well)
 * States: 0 LISTEN (the fuzzer may open connections itself), 1
 * SYN-SENT (the stack connects to X:40000), 2 ESTABLISHED, 3 ESTABLISHED
 * with 8 KiB of the stack's data in flight, 4 FIN-WAIT-1 (3000 bytes and
 * a FIN in flight), 5 CLOSE-WAIT (X sent its FIN). The connection's peer
 * offered SACK, timestamps and window scale 7.
 * After every step: SND.UNA <= SND.NXT <= SND.MAX; the out-of-order queue
 * sorted, apart, above RCV.NXT, within its bounds and its counts right;
 * the SACK scoreboard sorted, apart and within [SND.UNA, SND.MAX]. At the
 * end the application closes, the clock runs until every connection is
 * gone, and the pool must balance (fuzz_env.h). */
#include "fuzz_env.h"
#include "stack/tcp_priv.h"

struct fz {
	struct fuzz_env *e;
	struct zc_tcp_sock *l, *c; /* the listener (state 0, 2-5) and the connection */
	uint32_t x_isn;            /* X's ISN (1000; or the last SYN the fuzzer sent) */
	uint32_t b_isn;            /* the stack's, from its last SYN or SYN-ACK */
	bool have_b_isn;
};

/* X's segment to B:80 (or to the port the stack connected from). */
static void seg(struct fz *z, uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win,
		const uint8_t *opt, size_t optlen, size_t dlen, bool bad_csum)
{
	static uint8_t f[ZC_ETH_HLEN + FUZZ_MTU];
	size_t n = fuzz_eth(f, ZC_ETHERTYPE_IPV4);
	uint8_t *t = f + n + ZC_IPV4_HLEN;
	optlen &= ~(size_t)3;
	if (optlen > ZC_TCP_MAXOPTLEN)
		optlen = ZC_TCP_MAXOPTLEN;
	size_t hl = ZC_TCP_HLEN + optlen;
	if (dlen > FUZZ_MTU - ZC_IPV4_HLEN - hl)
		dlen = FUZZ_MTU - ZC_IPV4_HLEN - hl;
	memset(t, 0, ZC_TCP_HLEN);
	zc_put16(t, 40000);
	zc_put16(t + 2, dport);
	zc_put32(t + 4, seq);
	zc_put32(t + 8, ack);
	t[12] = (uint8_t)((hl / 4) << 4);
	t[13] = flags;
	zc_put16(t + 14, win);
	if (optlen)
		memcpy(t + ZC_TCP_HLEN, opt, optlen);
	for (size_t i = 0; i < dlen; i++)
		t[hl + i] = (uint8_t)(seq + i);
	struct zc_ipv4 ip = { .total_len = (uint16_t)(ZC_IPV4_HLEN + hl + dlen), .ttl = 64, .proto = ZC_IPPROTO_TCP,
			      .src = IP_X, .dst = IP_B, .df = true };
	zc_ipv4_build(f + n, &ip);
	size_t len = n + ZC_IPV4_HLEN + hl + dlen;
	fuzz_fix_csums(f, len, true, !bad_csum);
	fuzz_inject(z->e, f, len);
}

/* The stack's last frame, when it is a SYN-ACK or a SYN: its ISN. */
static void note_isn(struct fz *z)
{
	const struct fake_nic *nic = z->e->nic;
	struct zc_tcp th;
	size_t off = ZC_ETH_HLEN + ZC_IPV4_HLEN;
	if (nic->last_len >= off + ZC_TCP_HLEN &&
	    zc_tcp_parse(nic->last + off, nic->last_len - off, IP_B, IP_X, false, &th, NULL) == 0 &&
	    (th.flags & ZC_TCP_SYN)) {
		z->b_isn = th.seq;
		z->have_b_isn = true;
	}
}

static void accept_one(struct fz *z)
{
	int err;
	struct zc_tcp_sock *c = zc_tcp_accept(z->l, &err);
	if (c && z->c == NULL)
		z->c = c;
	else if (c)
		zc_tcp_close(c);
}

/* The starting state. */
static void start(struct fz *z, unsigned state)
{
	struct fuzz_env *e = z->e;
	z->x_isn = 1000;
	if (state == 1) {
		z->c = zc_tcp_socket(e->st);
		if (z->c == NULL || zc_tcp_connect(z->c, IP_X, 40000) != -EINPROGRESS)
			fuzz_fail("no connect");
		note_isn(z);
		return;
	}
	z->l = zc_tcp_socket(e->st);
	if (z->l == NULL || zc_tcp_bind(z->l, 0, 80) != 0 || zc_tcp_listen(z->l, 4) != 0)
		fuzz_fail("no listener");
	if (state == 0)
		return;
	z->b_isn = fuzz_handshake(e, z->x_isn);
	z->have_b_isn = true;
	accept_one(z);
	if (z->c == NULL)
		fuzz_fail("no connection");
	static const char d[8192];
	if (state == 3 && zc_tcp_send(z->c, d, sizeof(d)) != (ssize_t)sizeof(d))
		fuzz_fail("no send");
	if (state == 4) {
		zc_tcp_send(z->c, d, 3000);
		zc_tcp_shutdown(z->c, 1);
	}
	if (state == 5)
		seg(z, 80, ZC_TCP_FIN | ZC_TCP_ACK, z->x_isn + 1, z->b_isn + 1, 512, NULL, 0, 0, false);
}

static void check(const struct zc_tcp_sock *s)
{
	if (!seq_le(s->snd_una, s->snd_nxt) || !seq_le(s->snd_nxt, s->snd_max))
		fuzz_fail("SND.UNA %u SND.NXT %u SND.MAX %u", s->snd_una, s->snd_nxt, s->snd_max);
	uint32_t n = 0, bytes = 0;
	tcp_seq prev = s->rcv_nxt;
	for (const struct zc_mbuf *m = s->ooo; m; m = m->nextpkt, n++) {
		tcp_seq l = (tcp_seq)m->tstamp;
		if (m->pkt_len == 0 || !seq_gt(l, s->rcv_nxt) || (n && !seq_ge(l, prev)))
			fuzz_fail("out-of-order segment %u at %u (RCV.NXT %u, previous end %u)", n, l, s->rcv_nxt,
				  prev);
		prev = l + m->pkt_len;
		bytes += m->pkt_len;
	}
	if (n != s->ooo_n || bytes != s->ooo_bytes || n > ZC__TCP_OOO_MAX)
		fuzz_fail("out-of-order queue: %u segments %u bytes, counted %u and %u", n, bytes, s->ooo_n,
			  s->ooo_bytes);
	uint32_t rq = 0;
	for (const struct zc_mbuf *m = s->rq_head; m; m = m->nextpkt)
		rq += m->pkt_len;
	if (rq != s->rq_len)
		fuzz_fail("receive queue: %u bytes, counted %u", rq, s->rq_len);
	if (s->nsacked > ZC__TCP_SACKBOARD)
		fuzz_fail("%u SACK ranges", s->nsacked);
	for (unsigned i = 0; i < s->nsacked; i++) {
		const struct zc__sack_range *r = &s->sacked[i];
		if (!seq_lt(r->l, r->r) || seq_lt(r->l, s->snd_una) || seq_gt(r->r, s->snd_max) ||
		    (i && !seq_gt(r->l, s->sacked[i - 1].r)))
			fuzz_fail("SACK range %u [%u, %u) (SND.UNA %u SND.MAX %u)", i, r->l, r->r, s->snd_una,
				  s->snd_max);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return -1;
	struct fz z = { .e = fuzz_begin() };
	struct fuzz_env *e = z.e;
	fuzz_arp(e);
	unsigned state = data[0] % 6;
	start(&z, state);
	uint16_t port = 80;
	if (state == 1)
		port = z.c->lport;
	static uint8_t buf[65536];
	static const char out[3000];
	for (size_t i = 1; i + 10 <= size;) {
		const uint8_t *r = data + i;
		size_t optlen = r[9] > 40 ? 40 : r[9];
		if (i + 10 + optlen > size)
			optlen = size - i - 10;
		tcp_seq base_seq = z.c ? z.c->rcv_nxt : z.x_isn + 1;
		bool syn_sent = z.c && zc_tcp_get_state(z.c) == ZC_TCP_SYN_SENT;
		tcp_seq base_ack = z.c && !syn_sent ? z.c->snd_una : z.b_isn + 1;
		if (syn_sent)
			base_seq = z.x_isn; /* the fuzzer's SYN-ACK: its ISN is 1000 */
		/* SACK blocks (kind 5) are relative to SND.UNA too */
		uint8_t opt[40];
		memcpy(opt, r + 10, optlen);
		for (size_t o = 0; o < optlen && opt[o] != 0;) {
			if (opt[o] == 1) {
				o++;
				continue;
			}
			if (o + 1 >= optlen || opt[o + 1] < 2)
				break;
			if (opt[o] == 5)
				for (size_t b = o + 2; b + 4 <= o + opt[o + 1] && b + 4 <= optlen; b += 4)
					zc_put32(opt + b, zc_get32(opt + b) + base_ack);
			o += opt[o + 1];
		}
		uint8_t flags = r[0];
		if (flags & ZC_TCP_SYN)
			z.x_isn = base_seq + (uint32_t)(int16_t)zc_get16(r + 2);
		seg(&z, port, flags, base_seq + (uint32_t)(int16_t)zc_get16(r + 2),
		    base_ack + (uint32_t)(int16_t)zc_get16(r + 4), zc_get16(r + 6), opt, optlen,
		    (size_t)r[8] * 8, r[1] & 4);
		note_isn(&z);
		if (z.l)
			accept_one(&z);
		if (z.c) {
			switch (r[1] & 3) {
			case 1: zc_tcp_send(z.c, out, sizeof(out)); break;
			case 2: while (zc_tcp_recv(z.c, buf, sizeof(buf)) > 0); break;
			case 3: zc_tcp_shutdown(z.c, 1); break;
			}
		}
		unsigned k = r[1] >> 4;
		fuzz_advance(e, (uint64_t)k * k * 1000000u);
		if (z.c)
			check(z.c);
		i += 10 + optlen;
	}
	if (z.c)
		zc_tcp_close(z.c);
	if (z.l)
		zc_tcp_close(z.l);
	/* everything goes: RTO backoff, FIN-WAIT-2, TIME_WAIT */
	fuzz_advance(e, 200 * 1000000000ull);
	fuzz_end(e);
	return 0;
}
