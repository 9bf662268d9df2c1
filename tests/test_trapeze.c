/* test_trapeze.c - the simulated Trapeze NIC with both ports in one process:
 * frame trading without copies, the copy fallback, pool equilibrium,
 * back-pressure, interrupts only for a sleeping receiver, link rate and
 * delay in virtual time, link down, and clear errors for bad configuration. */
#include "nic/open.h"
#include "nic/trapeze.h"
#include "nic/trapeze_priv.h"
#include "nic/trapeze/wire_layout.h"
#include "stack/log.h"
#include "testframe.h"

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

struct pair {
	char name[32];
	struct zc_netif *a, *b;
};

static int open_pair(void **state, uint32_t mtu, uint64_t rate, uint64_t delay)
{
	static struct pair p;
	snprintf(p.name, sizeof(p.name), "ut%d", (int)getpid());
	zc_trapeze_unlink(p.name);
	struct zc_trapeze_config c = { .name = p.name, .port = 0, .mtu = mtu, .nframes = 1024,
				       .rate_bps = rate, .delay_ns = delay };
	p.a = zc_trapeze_open(&c);
	c.port = 1;
	p.b = zc_trapeze_open(&c);
	if (!p.a || !p.b)
		return -1;
	*state = &p;
	return 0;
}

static int setup(void **state) { return open_pair(state, 0, 0, 0); }

/* Quiescent ports hold exactly their posted frames: nothing leaked. */
static int teardown(void **state)
{
	struct pair *p = *state;
	zc_trapeze_reap(p->a); /* take back what the peer has pulled */
	zc_trapeze_reap(p->b);
	assert_int_equal(zc_pool_outstanding(p->a->pool), zc_trapeze_posted(p->a));
	assert_int_equal(zc_pool_outstanding(p->b->pool), zc_trapeze_posted(p->b));
	char path[64];
	snprintf(path, sizeof(path), "/dev/shm/zcwire-%s", p->name);
	assert_int_equal(access(path, F_OK), 0);
	zc_netif_close(p->a);
	zc_netif_close(p->b);
	assert_int_equal(access(path, F_OK), -1); /* the last one out removed it */
	return 0;
}

static int recv_all(struct zc_netif *n, uint64_t now, uint64_t *next_seq, int *bad)
{
	struct zc_mbuf *m[32];
	int got = 0, k;
	while ((k = zc_netif_rx(n, m, 32, now)) > 0) {
		for (int i = 0; i < k; i++) {
			struct tf_info in;
			if (tf_check(m[i], &in) != 0 || in.seq != *next_seq)
				(*bad)++;
			(*next_seq)++;
			zc_mbuf_free(m[i]);
		}
		got += k;
	}
	return got;
}

static void test_trade_without_copy(void **state)
{
	struct pair *p = *state;
	assert_true(zc_trapeze_link_up(p->a));
	struct zc_pool_stats sa0, sb0;
	zc_pool_get_stats(p->a->pool, &sa0);
	zc_pool_get_stats(p->b->pool, &sb0);
	uint64_t seq = 0, rseq = 0;
	int bad = 0, got = 0;
	const uint32_t sizes[] = { 0, 1, 4095, 4096, 4097, 65536, 30000 };
	for (int round = 0; round < 40; round++) {
		for (unsigned s = 0; s < 7; s++) {
			struct zc_mbuf *m = tf_build(p->a->pool, p->a->mac, p->b->mac, seq++, sizes[s], 0, true, true);
			assert_non_null(m);
			assert_int_equal(zc_netif_tx(p->a, &m, 1, 0), 1);
		}
		got += recv_all(p->b, 0, &rseq, &bad);
	}
	assert_int_equal(got, 280);
	assert_int_equal(bad, 0);
	struct zc_netif_stats st;
	p->a->ops->get_stats(p->a, &st);
	assert_int_equal(st.dma_bytes, 0); /* nothing copied */
	/* a 1-byte payload travels in the control message with its headers
	 * (a packet of <= 256 bytes does), the others' frames are handed over */
	assert_int_equal(st.zc_frames, 40u * (0 + 0 + 1 + 1 + 2 + 16 + 8));
	/* equilibrium: each side still owns as many frames as it started with */
	struct zc_pool_stats sa, sb;
	zc_pool_get_stats(p->a->pool, &sa);
	zc_pool_get_stats(p->b->pool, &sb);
	assert_int_equal(sa.frames_owned, sa0.frames_owned);
	assert_int_equal(sb.frames_owned, sb0.frames_owned);
	assert_int_equal(sa.frames_given, st.zc_frames);
	assert_int_equal(sb.frames_adopted, st.zc_frames);
}

/* A port left in order can be claimed again while the peer stays (a client
 * that exits and a new one on the same wire): what was in flight to the
 * leaving side is settled, every frame has exactly one owner afterwards,
 * and traffic flows both ways with the new owner. */
static void test_port_reattach_after_clean_close(void **state)
{
	struct pair *p = *state;
	uint64_t sa = 0, sb = 0, ra = 0, rb = 0;
	int bad = 0;
	/* b -> a, all received: the peer has read what the leaving side sent */
	for (int i = 0; i < 6; i++) {
		struct zc_mbuf *m = tf_build(p->b->pool, p->b->mac, p->a->mac, sb++, 4096u * (uint32_t)(i + 1), 0,
					     i % 2 == 0, true);
		assert_int_equal(zc_netif_tx(p->b, &m, 1, 0), 1);
	}
	assert_int_equal(recv_all(p->a, 0, &ra, &bad), 6);
	zc_trapeze_reap(p->b);
	/* a -> b, left unread: traded frames, a copy and a pull in b's ring */
	for (int i = 0; i < 4; i++) {
		struct zc_mbuf *m = tf_build(p->a->pool, p->a->mac, p->b->mac, sa++, 8192, 0, i != 1, true);
		struct zc_mbuf *keep = i == 3 ? zc_mbuf_clone(m) : NULL;
		assert_int_equal(zc_netif_tx(p->a, &m, 1, 0), 1);
		zc_mbuf_free(keep);
	}
	struct zc_trapeze_config c = { .name = p->name, .port = 1, .nframes = 1024 };
	zc_netif_close(p->b);
	assert_false(zc_trapeze_link_up(p->a));
	p->b = zc_trapeze_open(&c);
	assert_non_null(p->b);
	assert_true(zc_trapeze_link_up(p->a));
	zc_trapeze_reap(p->a);
	struct zc_pool_stats pa, pb;
	zc_pool_get_stats(p->a->pool, &pa);
	zc_pool_get_stats(p->b->pool, &pb);
	assert_int_equal(pa.frames_owned + pb.frames_owned, 1024); /* each frame once */
	/* the new owner talks both ways; the old one's packets are gone */
	rb = sa;
	sb = 0;
	ra = 0;
	for (int round = 0; round < 20; round++) {
		for (unsigned k = 0; k < 3; k++) {
			uint32_t len = k == 0 ? 100 : k == 1 ? 4096 : 30000;
			struct zc_mbuf *m = tf_build(p->a->pool, p->a->mac, p->b->mac, sa++, len, 0, k != 1, true);
			assert_int_equal(zc_netif_tx(p->a, &m, 1, 0), 1);
			m = tf_build(p->b->pool, p->b->mac, p->a->mac, sb++, len, 0, k != 1, true);
			assert_int_equal(zc_netif_tx(p->b, &m, 1, 0), 1);
		}
		recv_all(p->b, 0, &rb, &bad);
		recv_all(p->a, 0, &ra, &bad);
	}
	assert_int_equal(bad, 0);
	assert_int_equal(rb, sa);
	assert_int_equal(ra, sb);
}

/* A port whose owner died (never closed it) is refused while the peer
 * lives: its frames cannot be accounted for. */
static void test_port_of_dead_owner_refused(void **state)
{
	(void)state;
	char name[32];
	snprintf(name, sizeof(name), "utdead%d", (int)getpid());
	zc_trapeze_unlink(name);
	struct zc_trapeze_config c = { .name = name, .port = 0, .nframes = 256 };
	struct zc_netif *a = zc_trapeze_open(&c);
	assert_non_null(a);
	c.port = 1;
	pid_t k = fork();
	if (k == 0)
		_exit(zc_trapeze_open(&c) ? 0 : 1); /* dies holding port 1 */
	int wst;
	assert_int_equal(waitpid(k, &wst, 0), k);
	assert_int_equal(WEXITSTATUS(wst), 0);
	assert_null(zc_trapeze_open(&c));
	assert_int_equal(errno, EBUSY);
	zc_netif_close(a);
	/* with nobody left on the wire, it starts afresh */
	struct zc_netif *b = zc_trapeze_open(&c);
	assert_non_null(b);
	zc_netif_close(b);
}

static void test_copy_fallback_keeps_sender_data(void **state)
{
	struct pair *p = *state;
	uint64_t rseq = 0;
	int bad = 0;
	/* a clone (the sender keeps a reference, as TCP's retransmit queue will) */
	struct zc_mbuf *m = tf_build(p->a->pool, p->a->mac, p->b->mac, 0, 10000, 0, true, true);
	struct zc_mbuf *keep = zc_mbuf_clone(m);
	assert_int_equal(zc_netif_tx(p->a, &m, 1, 0), 1);
	/* a linear frame: headers and payload in one frame from offset 0 */
	struct zc_mbuf *lin = tf_build(p->a->pool, p->a->mac, p->b->mac, 1, 20000, 0, false, true);
	assert_int_equal(zc_netif_tx(p->a, &lin, 1, 0), 1);
	assert_int_equal(recv_all(p->b, 0, &rseq, &bad), 2);
	assert_int_equal(bad, 0);
	struct zc_netif_stats st, sb;
	p->a->ops->get_stats(p->a, &st);
	p->b->ops->get_stats(p->b, &sb);
	assert_int_equal(st.zc_frames, 0);
	/* the clone keeps the sender's header segment as the control message
	 * and the receiver's DMA pulls the payload out of the sender's frames
	 * (which the sender holds until then); the linear frame is pushed by
	 * the sender, losing only the 14-byte Ethernet header of an unknown
	 * ethertype to the control message */
	assert_int_equal(st.dma_bytes, 20000 + TF_HLEN - ZC_ETH_HLEN);
	assert_int_equal(sb.dma_bytes, 10000);
	struct tf_info in;
	assert_int_equal(tf_check(keep, &in), 0); /* the kept copy is intact */
	zc_mbuf_free(keep);
}

static void test_backpressure_loses_nothing(void **state)
{
	struct pair *p = *state;
	/* 1024 frames in the wire, 512 a side, 256 posted by b: 16-page frames
	 * run out of posted frames after 16 */
	uint64_t seq = 0, rseq = 0;
	int bad = 0, sent = 0, busy = 0;
	for (int i = 0; i < 200; i++) {
		struct zc_mbuf *m = tf_build(p->a->pool, p->a->mac, p->b->mac, seq, 65536, 0, true, true);
		if (m == NULL)
			break;
		if (zc_netif_tx(p->a, &m, 1, 0) == 1) {
			sent++;
			seq++;
		} else {
			zc_mbuf_free(m);
			busy++;
			break;
		}
	}
	assert_true(busy > 0);
	struct zc_netif_stats st;
	p->a->ops->get_stats(p->a, &st);
	assert_true(st.tx_busy > 0);
	assert_int_equal(recv_all(p->b, 0, &rseq, &bad), sent);
	assert_int_equal(bad, 0);
}

static void test_interrupt_only_when_asleep(void **state)
{
	struct pair *p = *state;
	int fd = p->b->ops->irq_fd(p->b);
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	uint64_t rseq = 0;
	int bad = 0;
	/* awake receiver: no interrupt */
	struct zc_mbuf *m = tf_build(p->a->pool, p->a->mac, p->b->mac, 0, 100, 0, true, true);
	zc_netif_tx(p->a, &m, 1, 0);
	assert_int_equal(poll(&pf, 1, 0), 0);
	/* pending frame: arming refuses */
	assert_int_equal(p->b->ops->irq_arm(p->b), -EAGAIN);
	assert_int_equal(recv_all(p->b, 0, &rseq, &bad), 1);
	/* asleep: one interrupt */
	assert_int_equal(p->b->ops->irq_arm(p->b), 0);
	m = tf_build(p->a->pool, p->a->mac, p->b->mac, 1, 100, 0, true, true);
	zc_netif_tx(p->a, &m, 1, 0);
	assert_int_equal(poll(&pf, 1, 1000), 1);
	p->b->ops->irq_ack(p->b);
	assert_int_equal(poll(&pf, 1, 0), 0);
	assert_int_equal(recv_all(p->b, 0, &rseq, &bad), 1);
	assert_int_equal(bad, 0);
	struct zc_netif_stats st;
	p->a->ops->get_stats(p->a, &st);
	assert_int_equal(st.irq_raised, 1);
}

static void test_link_down_drops(void **state)
{
	struct pair *p = *state;
	zc_netif_close(p->b);
	assert_false(zc_trapeze_link_up(p->a));
	struct zc_mbuf *m = tf_build(p->a->pool, p->a->mac, p->a->mac, 0, 5000, 0, true, true);
	assert_int_equal(zc_netif_tx(p->a, &m, 1, 0), 1);
	struct zc_netif_stats st;
	p->a->ops->get_stats(p->a, &st);
	assert_int_equal(st.tx_dropped, 1);
	assert_int_equal(zc_pool_outstanding(p->a->pool), zc_trapeze_posted(p->a));
	zc_netif_close(p->a);
}

static void test_rate_and_delay_in_virtual_time(void **state)
{
	(void)state;
	struct pair *p;
	/* 1 Gbit/s, 100 us: a 65582-byte frame takes 524656 ns on the wire */
	assert_int_equal(open_pair((void **)&p, 0, 1000000000u, 100000u), 0);
	for (uint64_t s = 0; s < 2; s++) {
		struct zc_mbuf *m = tf_build(p->a->pool, p->a->mac, p->b->mac, s, 65536, 0, true, true);
		assert_int_equal(zc_netif_tx(p->a, &m, 1, 0), 1);
	}
	const uint64_t one = (uint64_t)(65536 + TF_HLEN) * 8;
	uint64_t rseq = 0;
	int bad = 0;
	assert_int_equal(recv_all(p->b, one + 100000 - 1, &rseq, &bad), 0);
	assert_int_equal(zc_netif_next_due(p->b), one + 100000);
	assert_int_equal(recv_all(p->b, one + 100000, &rseq, &bad), 1);
	assert_int_equal(recv_all(p->b, 2 * one + 100000 - 1, &rseq, &bad), 0);
	assert_int_equal(recv_all(p->b, 2 * one + 100000, &rseq, &bad), 1);
	assert_int_equal(bad, 0);
	teardown((void **)&p);
}

/* Descriptors a broken or hostile peer could write: each is dropped and
 * counted, none is followed out of bounds (ASan), no frame of the receiver
 * changes hands, and a good frame afterwards still arrives. */
static void test_forged_descriptors_are_dropped(void **state)
{
	struct pair *p = *state;
	struct zc_pool_stats before, after;
	zc_pool_get_stats(p->b->pool, &before);
	uint32_t mine[16], theirs[16], huge[16];
	/* frames: b owns [512, 1024) at start (1024-frame wire), a owns [0, 512) */
	for (int i = 0; i < 16; i++) {
		mine[i] = 1000u + (uint32_t)i;
		theirs[i] = (uint32_t)i;
		huge[i] = 0xfffffff0u;
	}
	struct { uint16_t ctrl; uint8_t np, fl; uint32_t plen; const uint32_t *pg, *tk; } bad[] = {
		{ 500, 0, 0, 0, theirs, mine },          /* control message past 256 bytes */
		{ 257, 0, ZC__TZ_DESC_COPY, 0, theirs, mine }, /* a whole packet of 257 bytes */
		{ 200, 1, 0, 100, theirs, mine },        /* headers past 128 bytes beside a payload */
		{ 40, 17, 0, 17 * 4096, theirs, mine },  /* more pages than the MTU */
		{ 40, 200, 0, 4096, theirs, mine },      /* npages nonsense */
		{ 40, 2, 0, 4096, theirs, mine },        /* payload too short for 2 pages */
		{ 40, 1, 0, 9000, theirs, mine },        /* payload too long for 1 page */
		{ 40, 1, 0, 100, huge, mine },           /* page index past the wire */
		{ 40, 1, 0, 100, mine, mine },           /* "trades" us our own frame */
		{ 40, 1, 0, 100, theirs, theirs },       /* takes a frame we never had */
		{ 40, 1, ZC__TZ_DESC_COPY, 100, theirs, mine }, /* copy mode into a frame not ours */
		{ 40, 1, ZC__TZ_DESC_COPY, 100, huge, mine },   /* copy mode past the wire */
	};
	int nbad = (int)(sizeof(bad) / sizeof(bad[0]));
	for (int i = 0; i < nbad; i++)
		assert_int_equal(zc__trapeze_forge(p->a, bad[i].ctrl, bad[i].np, bad[i].fl, bad[i].plen,
						   bad[i].pg, bad[i].tk), 0);
	struct zc_mbuf *m[32];
	assert_int_equal(zc_netif_rx(p->b, m, 32, 0), 0);
	struct zc_netif_stats st;
	p->b->ops->get_stats(p->b, &st);
	assert_int_equal(st.rx_dropped, nbad);
	zc_pool_get_stats(p->b->pool, &after);
	assert_int_equal(after.frames_owned, before.frames_owned);
	assert_int_equal(after.frames_adopted, 0);
	assert_int_equal(after.frames_given, 0);
	/* pull descriptors (the receiver copies from the sender's frames): only
	 * pieces of frames that are not the receiver's, inside a frame, adding
	 * up to the payload length */
	uint32_t off0[25] = { 0 }, len100[25], many[25], one = 1;
	for (int i = 0; i < 25; i++) {
		len100[i] = 100;
		many[i] = (uint32_t)i;
	}
	uint32_t off4000 = 4000, len200 = 200;
	assert_int_equal(zc__trapeze_forge_pull(p->a, 100, 1, mine, off0, len100), 0);     /* our own frame */
	assert_int_equal(zc__trapeze_forge_pull(p->a, 100, 1, huge, off0, len100), 0);     /* past the wire */
	assert_int_equal(zc__trapeze_forge_pull(p->a, 200, 1, theirs, &off4000, &len200), 0); /* past the frame */
	assert_int_equal(zc__trapeze_forge_pull(p->a, 300, 2, theirs, off0, len100), 0);   /* sum differs */
	assert_int_equal(zc__trapeze_forge_pull(p->a, 2500, 25, many, off0, len100), 0);   /* too many pieces */
	assert_int_equal(zc_netif_rx(p->b, m, 32, 0), 0);
	p->b->ops->get_stats(p->b, &st);
	assert_int_equal(st.rx_dropped, nbad + 5);
	/* a well-formed one is taken: the bytes copied are the sender's */
	memset(zc_pool_frame_addr(p->a->pool, theirs[1]) + 1, 0x77, 100);
	assert_int_equal(zc__trapeze_forge_pull(p->a, 100, 1, theirs + 1, &one, len100), 0);
	assert_int_equal(zc_netif_rx(p->b, m, 32, 0), 1);
	assert_int_equal(m[0]->pkt_len, ZC__TRAPEZE_FORGE_CTRL_LEN + 100);
	uint8_t got[100];
	zc_mbuf_copydata(m[0], ZC__TRAPEZE_FORGE_CTRL_LEN, 100, got);
	for (int i = 0; i < 100; i++)
		assert_int_equal(got[i], 0x77);
	zc_mbuf_free(m[0]);
	/* the wire still works */
	struct zc_mbuf *g = tf_build(p->a->pool, p->a->mac, p->b->mac, 0, 9000, 0, true, true);
	assert_int_equal(zc_netif_tx(p->a, &g, 1, 0), 1);
	uint64_t rseq = 0;
	int badn = 0;
	assert_int_equal(recv_all(p->b, 0, &rseq, &badn), 1);
	assert_int_equal(badn, 0);
}

/* --- receive by reference ----------------------------------------------------------- */

/* A TCP segment as the stack sends it with checksum offload: Ethernet,
 * IPv4 and TCP headers inline, len bytes of fill in frames the sender
 * keeps (*keep: a clone, as the send buffer holds), the checksum left to
 * the NIC. */
static struct zc_mbuf *tcp_seg(struct zc_netif *from, struct zc_netif *to, uint32_t seq, uint32_t len,
			       uint8_t fill, struct zc_mbuf **keep)
{
	struct zc_pool *pool = from->pool;
	struct zc_mbuf *h = zc_mbuf_alloc(pool);
	assert_non_null(h);
	uint8_t *f = zc_mbuf_append(h, 54);
	memset(f, 0, 54);
	memcpy(f, to->mac, 6);
	memcpy(f + 6, from->mac, 6);
	zc_put16(f + 12, ZC_ETHERTYPE_IPV4);
	uint8_t *ip = f + 14, *th = f + 34;
	ip[0] = 0x45;
	zc_put16(ip + 2, (uint16_t)(40 + len));
	ip[8] = 64;
	ip[9] = ZC_IPPROTO_TCP;
	zc_put32(ip + 12, 0x0a000001);
	zc_put32(ip + 16, 0x0a000002);
	zc_put16(ip + 10, zc_csum_fold(zc_csum_add(0, ip, 20)));
	zc_put16(th, 5000);
	zc_put16(th + 2, 80);
	zc_put32(th + 4, seq);
	th[12] = 5 << 4;
	th[13] = 0x10; /* ACK */
	zc_put16(th + 14, 65535);
	h->flags |= ZC_MBUF_F_TX_L4_CSUM;
	for (uint32_t off = 0; off < len;) {
		struct zc_mbuf *g = zc_mbuf_alloc_frame(pool);
		assert_non_null(g);
		uint32_t k = len - off < 4096 ? len - off : 4096;
		memset(g->data, fill, k);
		g->len = g->pkt_len = k;
		zc_mbuf_cat(h, g);
		off += k;
	}
	*keep = zc_mbuf_clone(h);
	assert_non_null(*keep);
	return h;
}

static bool payload_is(const struct zc_mbuf *m, uint8_t fill, uint32_t len)
{
	uint32_t n = 0;
	for (const struct zc_mbuf *g = m->next; g; g = g->next)
		for (uint32_t i = 0; i < g->len; i++, n++)
			if (g->data[i] != fill)
				return false;
	return n == len;
}

/* The receiver keeps the sender's frames by reference: no copy, the
 * segments are ext ones over the sender's frames; while it holds them they
 * are never handed out again by the sender's pool (every frame it can
 * allocate is written over), however long it holds them and whatever the
 * sender's stack frees; given back, every frame comes home (teardown).
 * Forged ids in the return ring free nothing. */
static void test_receive_by_reference(void **state)
{
	struct pair *p = *state;
	enum { N = 8, LEN = 16384 };
	struct zc_mbuf *got[N];
	for (int i = 0; i < N; i++) {
		struct zc_mbuf *keep, *m = tcp_seg(p->a, p->b, (uint32_t)i * LEN, LEN, (uint8_t)(0x40 + i), &keep);
		assert_int_equal(zc_netif_tx(p->a, &m, 1, 0), 1);
		zc_mbuf_free(keep); /* acknowledged: only the peer's reference holds the frames now */
		assert_int_equal(zc_netif_rx(p->b, &got[i], 1, 0), 1);
	}
	struct zc_netif_stats sa, sb;
	p->a->ops->get_stats(p->a, &sa);
	p->b->ops->get_stats(p->b, &sb);
	assert_int_equal(sa.dma_bytes + sb.dma_bytes, 0); /* nothing copied */
	assert_int_equal(sb.ref_bytes, N * LEN);
	assert_true(p->b->caps.rx_ref);
	/* in the receiver's mapping of the file, port a's half of the frames */
	const uint8_t *lo = zc_pool_frame_addr(p->b->pool, 0), *hi = lo + 512 * 4096;
	for (int i = 0; i < N; i++) {
		assert_true(got[i]->flags & ZC_MBUF_F_L4_CSUM_OK);
		for (const struct zc_mbuf *g = got[i]->next; g; g = g->next) {
			assert_int_equal(g->kind, ZC_MBUF_EXT_BUF);
			assert_true(g->data >= lo && g->data + g->len <= hi);
		}
	}
	struct zc__trapeze_ref_stats ra, rb;
	zc__trapeze_ref_stats(p->a, &ra);
	zc__trapeze_ref_stats(p->b, &rb);
	assert_int_equal(ra.out, N);
	assert_int_equal(rb.held, N);
	/* the sender's pool hands out everything it has: none of it is a held
	 * frame, and writing all of it changes nothing the receiver holds */
	struct zc_mbuf *all[600];
	int na = 0;
	while (na < 600 && (all[na] = zc_mbuf_alloc_frame(p->a->pool)) != NULL)
		memset(all[na++]->data, 0xee, 4096);
	assert_true(na > 0 && na < 600);
	for (int i = 0; i < N; i++)
		assert_true(payload_is(got[i], (uint8_t)(0x40 + i), LEN));
	while (na > 0)
		zc_mbuf_free(all[--na]);
	/* forged ids free nothing */
	zc__trapeze_forge_return(p->b, 12345);
	zc__trapeze_forge_return(p->b, 0);
	zc_trapeze_reap(p->a);
	zc__trapeze_ref_stats(p->a, &ra);
	assert_int_equal(ra.out, N);
	assert_int_equal(ra.bad, 2);
	for (int i = 0; i < N; i++)
		assert_true(payload_is(got[i], (uint8_t)(0x40 + i), LEN));
	/* half given back: only those come home */
	for (int i = 0; i < N / 2; i++)
		zc_mbuf_free(got[i]);
	zc_trapeze_reap(p->b);
	zc_trapeze_reap(p->a);
	zc__trapeze_ref_stats(p->a, &ra);
	assert_int_equal(ra.out, N / 2);
	assert_int_equal(ra.taken_back, N / 2);
	for (int i = N / 2; i < N; i++) {
		assert_true(payload_is(got[i], (uint8_t)(0x40 + i), LEN));
		zc_mbuf_free(got[i]);
	}
	zc_trapeze_reap(p->b); /* gives the ids back */
	zc_trapeze_reap(p->a);
	zc__trapeze_ref_stats(p->a, &ra);
	zc__trapeze_ref_stats(p->b, &rb);
	assert_int_equal(ra.out, 0);
	assert_int_equal(rb.held, 0);
	assert_int_equal(rb.given, N);
}

/* A receiver that dies holding references: once its pid has been dead for
 * a second, the sender takes every one of its frames back (the pool
 * balances), while it keeps them as long as the receiver lives. */
static void test_reference_holder_dies(void **state)
{
	(void)state;
	char name[32];
	snprintf(name, sizeof(name), "ud%d", (int)getpid());
	zc_trapeze_unlink(name);
	struct zc_trapeze_config c = { .name = name, .port = 0, .nframes = 1024 };
	struct zc_netif *a = zc_trapeze_open(&c);
	assert_non_null(a);
	int up[2], go[2];
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(go), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		c.port = 1;
		struct zc_netif *b = zc_trapeze_open(&c);
		char x = b ? 'u' : 'f';
		if (write(up[1], &x, 1) != 1 || read(go[0], &x, 1) != 1)
			_exit(2);
		struct zc_mbuf *m[64];
		int n = 0, k;
		while (n < 16 && (k = zc_netif_rx(b, m + n, 64 - n, 0)) >= 0) {
			n += k;
			if (k == 0)
				usleep(1000);
		}
		x = (char)n;
		if (write(up[1], &x, 1) != 1)
			_exit(3);
		pause(); /* holds them until killed */
		_exit(0);
	}
	char x;
	assert_int_equal(read(up[0], &x, 1), 1);
	assert_int_equal(x, 'u');
	/* the peer's MAC: port 1's default */
	struct zc_netif fake = { 0 };
	memcpy(fake.mac, (uint8_t[6]){ 0x02, 0x7a, 0x63, 0, 0, 2 }, 6);
	for (int i = 0; i < 16; i++) {
		struct zc_mbuf *keep, *m = tcp_seg(a, &fake, (uint32_t)i * 8192, 8192, 0x33, &keep);
		assert_int_equal(zc_netif_tx(a, &m, 1, 0), 1);
		zc_mbuf_free(keep);
	}
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(read(up[0], &x, 1), 1);
	assert_int_equal(x, 16);
	struct zc__trapeze_ref_stats r;
	for (int i = 0; i < 20000; i++)
		zc_trapeze_reap(a);
	zc__trapeze_ref_stats(a, &r);
	assert_int_equal(r.out, 16); /* alive: its references hold */
	assert_true(zc_pool_outstanding(a->pool) > zc_trapeze_posted(a));
	kill(pid, SIGKILL);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		zc_trapeze_reap(a);
		zc__trapeze_ref_stats(a, &r);
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while (r.out && t1.tv_sec - t0.tv_sec < 5);
	assert_int_equal(r.out, 0);
	assert_int_equal(r.taken_back, 16);
	assert_true(t1.tv_sec * 1000000000ll + t1.tv_nsec - (t0.tv_sec * 1000000000ll + t0.tv_nsec) >= 900000000ll);
	/* the posted frames are the peer's to use, and the dead peer's posted ones
	 * were never ours: what we own and do not use is all free */
	assert_int_equal(zc_pool_outstanding(a->pool), zc_trapeze_posted(a));
	zc_netif_close(a);
	zc_trapeze_unlink(name);
	close(up[0]), close(up[1]), close(go[0]), close(go[1]);
}

static void test_bad_configuration(void **state)
{
	(void)state;
	zc_log_set_level(ZC_LOG_QUIET);
	struct zc_trapeze_config c = { .name = "this-name-is-far-too-long-for-a-wire-name" };
	assert_null(zc_trapeze_open(&c));
	assert_int_equal(errno, ENAMETOOLONG);
	c.name = "bad/name";
	assert_null(zc_trapeze_open(&c));
	assert_int_equal(errno, EINVAL);
	c = (struct zc_trapeze_config){ .name = "utcfg", .mtu = 5000 };
	assert_null(zc_trapeze_open(&c));
	assert_int_equal(errno, EINVAL);
	c.mtu = 128 * 1024;
	assert_null(zc_trapeze_open(&c));
	c = (struct zc_trapeze_config){ .name = "utcfg", .port = 2 };
	assert_null(zc_trapeze_open(&c));
	c = (struct zc_trapeze_config){ .name = "utcfg", .port = 0, .mtu = 8192, .nframes = 256 };
	struct zc_netif *a = zc_trapeze_open(&c);
	assert_non_null(a);
	assert_null(zc_trapeze_open(&c)); /* port 0 is taken */
	assert_int_equal(errno, EBUSY);
	c.port = 1;
	c.mtu = 16384; /* the wire exists with another MTU */
	assert_null(zc_trapeze_open(&c));
	assert_int_equal(errno, EINVAL);
	/* device strings */
	assert_null(zc_nic_open("trapeze:utcfg,port=7"));
	assert_null(zc_nic_open("trapeze:utcfg,speed=3"));
	assert_null(zc_nic_open("trapeze:"));
	assert_null(zc_nic_open("ethernet:eth0"));
	assert_null(zc_nic_open("trapeze:utcfg,port=1,rate=fast"));
	struct zc_netif *b = zc_nic_open("trapeze:utcfg,port=1");
	assert_non_null(b);
	assert_int_equal(b->caps.mtu, 128 - 14 + 8192);
	assert_true(b->caps.hdr_split);
	zc_netif_close(b);
	zc_netif_close(a);
	zc_log_set_level(ZC_LOG_WARN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_trade_without_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_fallback_keeps_sender_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_port_reattach_after_clean_close, setup, teardown),
		cmocka_unit_test(test_port_of_dead_owner_refused),
		cmocka_unit_test_setup_teardown(test_backpressure_loses_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_only_when_asleep, setup, teardown),
		cmocka_unit_test_setup(test_link_down_drops, setup),
		cmocka_unit_test_setup_teardown(test_forged_descriptors_are_dropped, setup, teardown),
		cmocka_unit_test(test_rate_and_delay_in_virtual_time),
		cmocka_unit_test(test_bad_configuration),
		cmocka_unit_test_setup_teardown(test_receive_by_reference, setup, teardown),
		cmocka_unit_test(test_reference_holder_dies),
	};
	return cmocka_run_group_tests_name("trapeze", tests, NULL, NULL);
}
