/*
 * tcp_subr.c - TCP's tables and the native API: connection hash and
 * listeners, TCB life cycle, ISNs (RFC 6528), options, tcp_info.
 */
#include "stack/tcp_priv.h"
#include "stack/log.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

static const struct zc_tcp_config zc__tcp_defaults = {
	.msl_ns = 30000000000ull,
	.rto_min_ns = 200000000ull,
	.rto_max_ns = 60000000000ull,
	.rto_initial_ns = 1000000000ull,
	.delack_ns = 40000000ull,
	.syn_retries = 6,
	.retries = 12,
	.sndbuf = 4u << 20,
	.rcvbuf = 4u << 20,
	.max_conns = 65536,
};

const char *zc_tcp_state_name(enum zc_tcp_state s)
{
	static const char *const n[] = { "CLOSED",     "LISTEN",     "SYN_SENT", "SYN_RECEIVED",
					 "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT",
					 "CLOSING",    "LAST_ACK",   "TIME_WAIT" };
	return (unsigned)s < sizeof(n) / sizeof(n[0]) ? n[s] : "?";
}

/* --- SipHash-2-4 (Aumasson and Bernstein), for ISNs and port choice ------- */

#define ZC__ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define ZC__SIPROUND                                                          \
	do {                                                                  \
		v0 += v1; v1 = ZC__ROTL(v1, 13); v1 ^= v0; v0 = ZC__ROTL(v0, 32); \
		v2 += v3; v3 = ZC__ROTL(v3, 16); v3 ^= v2;                    \
		v0 += v3; v3 = ZC__ROTL(v3, 21); v3 ^= v0;                    \
		v2 += v1; v1 = ZC__ROTL(v1, 17); v1 ^= v2; v2 = ZC__ROTL(v2, 32); \
	} while (0)

/* SipHash-2-4 of two 64-bit words. */
static uint64_t zc__siphash(const uint64_t k[2], uint64_t m0, uint64_t m1)
{
	uint64_t v0 = 0x736f6d6570736575ull ^ k[0], v1 = 0x646f72616e646f6dull ^ k[1];
	uint64_t v2 = 0x6c7967656e657261ull ^ k[0], v3 = 0x7465646279746573ull ^ k[1];
	uint64_t m[3] = { m0, m1, (uint64_t)16 << 56 };
	for (int i = 0; i < 3; i++) {
		v3 ^= m[i];
		ZC__SIPROUND;
		ZC__SIPROUND;
		v0 ^= m[i];
	}
	v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		ZC__SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* RFC 6528: ISN = M + F(4-tuple, secret), M a 4-microsecond clock. */
tcp_seq zc__tcp_isn(struct zc_stack *st, uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport)
{
	struct zc__tcp *t = st->tcp;
	uint64_t f = zc__siphash(t->key, (uint64_t)lip << 32 | rip, (uint64_t)lport << 16 | rport);
	return (tcp_seq)(st->now / 4000u) + (tcp_seq)f;
}

/* --- tables ------------------------------------------------------------------- */

static uint32_t zc__bucket(uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport)
{
	uint32_t h = lip * 2654435761u ^ rip * 2246822519u ^ ((uint32_t)lport << 16 | rport) * 3266489917u;
	return (h ^ (h >> 15)) & (ZC__TCP_HASH - 1);
}

int zc__tcp_init(struct zc_stack *st)
{
	struct zc__tcp *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->cfg = zc__tcp_defaults;
	t->key[0] = zc_rng_next(&st->rng);
	t->key[1] = zc_rng_next(&st->rng);
	st->tcp = t;
	return 0;
}

int zc_tcp_configure(struct zc_stack *st, const struct zc_tcp_config *c)
{
	struct zc_tcp_config *d = &st->tcp->cfg;
#define ZC__SET(f)        \
	if (c->f)         \
		d->f = c->f;
	ZC__SET(msl_ns) ZC__SET(rto_min_ns) ZC__SET(rto_max_ns) ZC__SET(rto_initial_ns)
	ZC__SET(delack_ns) ZC__SET(syn_retries) ZC__SET(retries) ZC__SET(sndbuf) ZC__SET(rcvbuf)
	ZC__SET(max_conns) ZC__SET(autotune_min)
#undef ZC__SET
	if (d->rto_min_ns > d->rto_max_ns || d->rto_initial_ns > d->rto_max_ns || d->sndbuf < 4096 ||
	    d->rcvbuf < 4096 || d->rcvbuf > (1u << 30))
		return -EINVAL;
	return 0;
}

static void zc__free_chain_list(struct zc_mbuf *m)
{
	while (m) {
		struct zc_mbuf *n = m->nextpkt;
		m->nextpkt = NULL;
		zc_mbuf_free(m);
		m = n;
	}
}

static void zc__tcp_unhash(struct zc_tcp_sock *s)
{
	struct zc__tcp *t = s->st->tcp;
	if (!s->hashed)
		return;
	struct zc_tcp_sock **pp = s->in_listeners
		? &t->listeners : &t->hash[zc__bucket(s->lip, s->lport, s->rip, s->rport)];
	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == s) {
			*pp = s->hnext;
			break;
		}
	s->hashed = false;
	s->in_listeners = false;
}

static void zc__tcp_free(struct zc_tcp_sock *s)
{
	struct zc__tcp *t = s->st->tcp;
	zc__tcp_timer_clear_all(s);
	zc__tcp_unhash(s);
	zc_mbuf_free(s->sb_head);
	zc__free_chain_list(s->rq_head);
	zc__free_chain_list(s->ooo);
	if (s->anext)
		s->anext->aprev = s->aprev;
	if (s->aprev)
		s->aprev->anext = s->anext;
	else
		t->all = s->anext;
	t->count--;
	free(s);
}

void zc__tcp_fini(struct zc_stack *st)
{
	struct zc__tcp *t = st->tcp;
	if (t == NULL)
		return;
	while (t->all)
		zc__tcp_free(t->all);
	free(t->heap);
	free(t);
	st->tcp = NULL;
}

struct zc_tcp_sock *zc__tcp_alloc(struct zc_stack *st)
{
	struct zc__tcp *t = st->tcp;
	if (t->count >= t->cfg.max_conns) {
		errno = ENOBUFS;
		return NULL;
	}
	struct zc_tcp_sock *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->st = st;
	s->heap_idx = -1;
	s->sb_max = t->cfg.sndbuf;
	s->rb_max = t->cfg.rcvbuf;
	s->rb_auto = s->sb_auto = t->cfg.autotune_min != 0;
	s->rb_win = s->rb_auto && t->cfg.autotune_min < s->rb_max ? t->cfg.autotune_min : s->rb_max;
	s->cc = &zc__cc_newreno;
	s->keepidle_s = 7200;
	s->keepintvl_s = 75;
	s->keepcnt = 9;
	s->linger_s = -1;
	s->rto = t->cfg.rto_initial_ns;
	s->anext = t->all;
	if (t->all)
		t->all->aprev = s;
	t->all = s;
	t->count++;
	return s;
}

void zc__tcp_hash(struct zc_tcp_sock *s)
{
	struct zc__tcp *t = s->st->tcp;
	uint32_t b = zc__bucket(s->lip, s->lport, s->rip, s->rport);
	s->hnext = t->hash[b];
	t->hash[b] = s;
	s->hashed = true;
}

struct zc_tcp_sock *zc__tcp_lookup(struct zc_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
				   uint16_t rport)
{
	for (struct zc_tcp_sock *s = st->tcp->hash[zc__bucket(lip, lport, rip, rport)]; s; s = s->hnext)
		if (s->lport == lport && s->rport == rport && s->rip == rip && s->lip == lip)
			return s;
	return NULL;
}

struct zc_tcp_sock *zc__tcp_listener(struct zc_stack *st, uint32_t lip, uint16_t lport)
{
	for (struct zc_tcp_sock *s = st->tcp->listeners; s; s = s->hnext)
		if (s->lport == lport && (s->lip == 0 || s->lip == lip))
			return s;
	return NULL;
}

void zc__tcp_set_state(struct zc_tcp_sock *s, enum zc_tcp_state ns)
{
	struct zc_tcp_stats *ts = &s->st->tcp->stats;
	if (s->state == ZC_TCP_ESTABLISHED || s->state == ZC_TCP_CLOSE_WAIT)
		ts->curr_estab--;
	if (ns == ZC_TCP_ESTABLISHED || ns == ZC_TCP_CLOSE_WAIT)
		ts->curr_estab++;
	s->state = (uint8_t)ns;
}

/* Remove a child from its listener's queues. */
static void zc__tcp_unlink_child(struct zc_tcp_sock *c)
{
	struct zc_tcp_sock *l = c->parent;
	if (l == NULL)
		return;
	if (c->accepted_ready) {
		struct zc_tcp_sock *prev = NULL;
		for (struct zc_tcp_sock *q = l->acc_head; q; prev = q, q = q->qnext)
			if (q == c) {
				if (prev)
					prev->qnext = q->qnext;
				else
					l->acc_head = q->qnext;
				if (l->acc_tail == q)
					l->acc_tail = prev;
				break;
			}
		l->nacc--;
	} else {
		l->nsyn--;
	}
	c->parent = NULL;
	c->accepted_ready = false;
}

void zc__tcp_child_ready(struct zc_tcp_sock *c)
{
	struct zc_tcp_sock *l = c->parent;
	if (l == NULL)
		return;
	l->nsyn--;
	c->accepted_ready = true;
	c->qnext = NULL;
	if (l->acc_tail)
		l->acc_tail->qnext = c;
	else
		l->acc_head = c;
	l->acc_tail = c;
	l->nacc++;
}

void zc__tcp_drop(struct zc_tcp_sock *s, int err)
{
	if (s->state != ZC_TCP_CLOSED && s->state != ZC_TCP_LISTEN && s->state != ZC_TCP_SYN_SENT &&
	    s->state != ZC_TCP_TIME_WAIT && err)
		s->st->tcp->stats.estab_resets++;
	if (s->state == ZC_TCP_SYN_SENT && err)
		s->st->tcp->stats.attempt_fails++;
	if (err)
		s->error = err;
	zc__tcp_closed(s);
}

bool zc__tcp_closed(struct zc_tcp_sock *s)
{
	zc__tcp_set_state(s, ZC_TCP_CLOSED);
	zc__tcp_timer_clear_all(s);
	zc__tcp_unhash(s);
	zc_mbuf_free(s->sb_head);
	s->sb_head = s->sb_tail = s->sb_cur = NULL;
	s->sb_len = 0;
	zc__free_chain_list(s->ooo);
	s->ooo = NULL;
	s->ooo_n = s->ooo_bytes = 0;
	if (s->parent) { /* never accepted: nobody will see it */
		zc__tcp_unlink_child(s);
		s->orphan = true;
	}
	if (s->orphan) {
		zc__tcp_free(s);
		return true;
	}
	/* else the application still holds it: unread data stays readable */
	return false;
}

void zc__tcp_sb_drop(struct zc_tcp_sock *s, uint32_t n)
{
	s->sb_len -= n;
	if (s->sb_cur && s->sb_cur_off >= n)
		s->sb_cur_off -= n; /* untouched by the drop: still whole after it */
	else
		s->sb_cur = NULL;
	while (n && s->sb_head) {
		struct zc_mbuf *m = s->sb_head;
		uint32_t k = n < m->len ? n : m->len;
		m->data += k;
		m->len -= k;
		n -= k;
		if (m->len == 0) {
			s->sb_head = m->next;
			m->next = NULL;
			zc_mbuf_free(m);
		}
	}
	if (s->sb_head == NULL)
		s->sb_tail = NULL;
}

uint8_t zc__tcp_wscale_for(uint32_t buf)
{
	uint8_t ws = 0;
	while (ws < ZC__TCP_WSCALE_MAX && (buf >> ws) > 65535u)
		ws++;
	return ws;
}

void zc__tcp_init_conn(struct zc_tcp_sock *s)
{
	uint32_t mtu = s->st->nif->caps.mtu;
	uint32_t mss = mtu - ZC_IPV4_HLEN - ZC_TCP_HLEN;
	if (mss > 65535 - 60)
		mss = 65535 - 60;
	if (s->user_mss && s->user_mss < mss)
		mss = s->user_mss;
	s->adv_mss = (uint16_t)mss;
	s->mss = (uint16_t)mss; /* until the peer's MSS option says less */
	s->rcv_wscale = zc__tcp_wscale_for(s->rb_max);
	s->quickack = ZC__TCP_QUICKACKS;
	s->ts_offset = (uint32_t)zc_rng_next(&s->st->rng);
}

/* --- API ---------------------------------------------------------------------- */

struct zc_tcp_sock *zc_tcp_socket(struct zc_stack *st)
{
	return zc__tcp_alloc(st);
}

static bool zc__port_in_use(struct zc_stack *st, uint32_t ip, uint16_t port)
{
	for (struct zc_tcp_sock *s = st->tcp->all; s; s = s->anext)
		if (s->lport == port && (s->lip == 0 || ip == 0 || s->lip == ip) && s->parent == NULL &&
		    (s->state == ZC_TCP_LISTEN || s->state == ZC_TCP_CLOSED))
			return true;
	return false;
}

int zc_tcp_bind(struct zc_tcp_sock *s, uint32_t ip, uint16_t port)
{
	struct zc_stack *st = s->st;
	if (s->lport || s->state != ZC_TCP_CLOSED)
		return -EINVAL;
	if (ip != 0 && ip != st->ip)
		return -EADDRNOTAVAIL;
	if (port == 0) {
		uint32_t span = 65536u - ZC__EPHEMERAL_LO, start = (uint32_t)zc_rng_below(&st->rng, span);
		for (uint32_t i = 0; i < span && port == 0; i++) {
			uint16_t p = (uint16_t)(ZC__EPHEMERAL_LO + (start + i) % span);
			if (!zc__port_in_use(st, ip, p))
				port = p;
		}
		if (port == 0)
			return -EADDRINUSE;
	} else if (zc__port_in_use(st, ip, port)) {
		return -EADDRINUSE;
	}
	s->lip = ip;
	s->lport = port;
	return 0;
}

int zc_tcp_listen(struct zc_tcp_sock *s, int backlog)
{
	struct zc_stack *st = s->st;
	if (s->state == ZC_TCP_LISTEN) {
		s->backlog = backlog < 1 ? 1 : (uint32_t)backlog;
		return 0;
	}
	if (s->state != ZC_TCP_CLOSED || s->rport)
		return -EINVAL;
	if (s->lport == 0) {
		int r = zc_tcp_bind(s, 0, 0);
		if (r)
			return r;
	}
	s->backlog = backlog < 1 ? 1 : backlog > 4096 ? 4096 : (uint32_t)backlog;
	zc__tcp_set_state(s, ZC_TCP_LISTEN);
	s->hnext = st->tcp->listeners;
	st->tcp->listeners = s;
	s->hashed = true;
	s->in_listeners = true;
	return 0;
}

struct zc_tcp_sock *zc_tcp_accept(struct zc_tcp_sock *s, int *err)
{
	if (s->state != ZC_TCP_LISTEN) {
		*err = -EINVAL;
		return NULL;
	}
	struct zc_tcp_sock *c = s->acc_head;
	if (c == NULL) {
		*err = -EAGAIN;
		return NULL;
	}
	zc__tcp_unlink_child(c);
	c->orphan = false;
	*err = 0;
	return c;
}

int zc_tcp_connect(struct zc_tcp_sock *s, uint32_t ip, uint16_t port)
{
	struct zc_stack *st = s->st;
	if (s->state == ZC_TCP_SYN_SENT)
		return -EALREADY;
	if (s->state != ZC_TCP_CLOSED)
		return s->state == ZC_TCP_LISTEN ? -EINVAL : -EISCONN;
	if (s->rport)
		return -EISCONN; /* a finished connection is not reused */
	if (ip == 0 || port == 0 || zc__is_bcast(st, ip) || (ip >> 28) == 0xe)
		return -EINVAL;
	s->rip = ip;
	s->rport = port;
	if (s->lport == 0) {
		/* an ephemeral port free for this 4-tuple */
		uint32_t span = 65536u - ZC__EPHEMERAL_LO, start = (uint32_t)zc_rng_below(&st->rng, span);
		for (uint32_t i = 0; i < span && s->lport == 0; i++) {
			uint16_t p = (uint16_t)(ZC__EPHEMERAL_LO + (start + i) % span);
			if (!zc__port_in_use(st, 0, p) && !zc__tcp_lookup(st, st->ip, p, ip, port))
				s->lport = p;
		}
		if (s->lport == 0) {
			s->rip = 0;
			s->rport = 0;
			return -EADDRNOTAVAIL;
		}
	} else if (zc__tcp_lookup(st, st->ip, s->lport, ip, port)) {
		s->rip = 0;
		s->rport = 0;
		return -EADDRINUSE;
	}
	s->lip = st->ip;
	zc__tcp_init_conn(s);
	s->iss = zc__tcp_isn(st, s->lip, s->lport, s->rip, s->rport);
	s->snd_una = s->snd_nxt = s->snd_max = s->snd_sml = s->iss;
	s->cc->init(s);
	zc__tcp_set_state(s, ZC_TCP_SYN_SENT);
	zc__tcp_hash(s);
	st->tcp->stats.active_opens++;
	zc__tcp_output(s);
	zc__tx_flush(st);
	return -EINPROGRESS;
}

static bool zc__connected(const struct zc_tcp_sock *s)
{
	return s->state >= ZC_TCP_ESTABLISHED;
}

/* May the application send now? 0, or what zc_tcp_send returns instead. */
static int zc__tcp_send_check(struct zc_tcp_sock *s)
{
	if (s->error)
		return -zc_tcp_error(s);
	if (s->wr_shut || s->fin_pending)
		return -EPIPE;
	if (s->state == ZC_TCP_SYN_SENT || s->state == ZC_TCP_SYN_RECEIVED)
		return -EAGAIN;
	if (!zc__connected(s) || s->state == ZC_TCP_CLOSED)
		return s->rport && s->state == ZC_TCP_CLOSED ? -EPIPE : -ENOTCONN;
	if (s->state != ZC_TCP_ESTABLISHED && s->state != ZC_TCP_CLOSE_WAIT)
		return -EPIPE;
	return 0;
}

uint32_t zc_tcp_send_limit(const struct zc_tcp_sock *s)
{
	if (!s->sb_auto)
		return s->sb_max;
	uint32_t floor = s->st->tcp->cfg.autotune_min;
	if (floor < s->sb_floor)
		floor = s->sb_floor;
	uint64_t lim = 2ull * s->max_sndwnd;
	if (lim < floor)
		lim = floor;
	return lim < s->sb_max ? (uint32_t)lim : s->sb_max;
}

void zc_tcp_snd_hint(struct zc_tcp_sock *s, size_t len)
{
	if (!s->sb_auto || len <= s->sb_floor / 2)
		return;
	uint64_t want = 2ull * len;
	s->sb_floor = want < s->sb_max ? (uint32_t)want : s->sb_max;
}

/* The send buffer's room; 0 with *err what a send returns instead (-EAGAIN
 * when only room is missing). */
static uint32_t zc__tcp_room(struct zc_tcp_sock *s, int *err)
{
	*err = zc__tcp_send_check(s);
	if (*err)
		return 0;
	uint32_t lim = zc_tcp_send_limit(s);
	uint32_t room = lim > s->sb_len ? lim - s->sb_len : 0;
	if (room == 0)
		*err = -EAGAIN;
	return room;
}

int zc_tcp_writable(struct zc_tcp_sock *s)
{
	int err;
	zc__tcp_room(s, &err);
	return err;
}

uint32_t zc_tcp_send_room(struct zc_tcp_sock *s)
{
	int err;
	return zc__tcp_room(s, &err);
}

/* 0 with *len cut to the send buffer's room, or what a send returns instead. */
static int zc__tcp_send_begin(struct zc_tcp_sock *s, size_t *len)
{
	int err;
	uint32_t room = zc__tcp_room(s, &err);
	if (err)
		return err;
	if (*len > room)
		*len = room;
	return 0;
}

ssize_t zc_tcp_send_ext(struct zc_tcp_sock *s, void *buf, size_t len, struct zc_ext_shinfo *sh)
{
	int r = zc__tcp_send_begin(s, &len);
	if (r)
		return r;
	struct zc_mbuf *m = zc_mbuf_attach_ext(s->st->pool, buf, (uint32_t)len, sh);
	if (m == NULL)
		return -ENOBUFS;
	m->len = m->pkt_len = (uint32_t)len;
	if (s->sb_tail)
		s->sb_tail->next = m;
	else
		s->sb_head = m;
	s->sb_tail = m;
	s->sb_len += (uint32_t)len;
	s->st->tcp->stats.bytes_sent += len;
	zc__tcp_output(s);
	zc__tx_flush(s->st);
	return (ssize_t)len;
}

ssize_t zc_tcp_unref_ext(struct zc_tcp_sock *s, const struct zc_ext_shinfo *sh)
{
	struct zc_pool *pool = s->st->pool;
	uint32_t fs = zc_pool_frame_size(pool);
	size_t copied = 0;
	struct zc_mbuf *prev = NULL;
	s->sb_cur = NULL; /* segments are replaced below */
	for (struct zc_mbuf *m = s->sb_head, *next; m; m = next) {
		next = m->next;
		if (m->kind != ZC_MBUF_EXT_BUF || m->shinfo != sh) {
			prev = m;
			continue;
		}
		/* the bytes still needed, into frames of our own */
		struct zc_mbuf *first = NULL, *last = NULL;
		for (uint32_t off = 0; off < m->len;) {
			struct zc_mbuf *f = zc_mbuf_alloc_frame(pool);
			if (f == NULL) {
				zc_mbuf_free(first);
				return -ENOBUFS;
			}
			uint32_t k = m->len - off < fs ? m->len - off : fs;
			memcpy(f->data, m->data + off, k);
			f->len = k;
			if (last)
				last->next = f;
			else
				first = f;
			last = f;
			off += k;
		}
		copied += m->len;
		if (first == NULL) { /* an emptied segment */
			first = last = NULL;
		}
		struct zc_mbuf *after = first ? first : next;
		if (prev)
			prev->next = after;
		else
			s->sb_head = after;
		if (last)
			last->next = next;
		if (s->sb_tail == m)
			s->sb_tail = last ? last : prev;
		m->next = NULL;
		zc_mbuf_free(m);
		prev = last ? last : prev;
	}
	return (ssize_t)copied;
}

ssize_t zc_tcp_send(struct zc_tcp_sock *s, const void *buf, size_t len)
{
	int r = zc__tcp_send_begin(s, &len);
	if (r)
		return r;
	struct zc_pool *pool = s->st->pool;
	uint32_t fs = zc_pool_frame_size(pool);
	const uint8_t *p = buf;
	size_t done = 0;
	while (done < len) {
		struct zc_mbuf *t = s->sb_tail;
		uint32_t tail = t ? (uint32_t)(t->buf + t->buf_len - (t->data + t->len)) : 0;
		if (t == NULL || tail == 0 || t->kind != ZC_MBUF_FRAME_BUF) {
			struct zc_mbuf *f = zc_mbuf_alloc_frame(pool);
			if (f == NULL)
				break;
			if (t)
				t->next = f;
			else
				s->sb_head = f;
			s->sb_tail = t = f;
			tail = fs;
		}
		uint32_t k = len - done < tail ? (uint32_t)(len - done) : tail;
		memcpy(t->data + t->len, p + done, k);
		t->len += k;
		done += k;
	}
	s->sb_len += (uint32_t)done;
	s->st->tcp->stats.bytes_sent += done;
	if (done) {
		zc__tcp_output(s);
		zc__tx_flush(s->st);
	}
	return done ? (ssize_t)done : -ENOBUFS;
}

/* What a read finds when the queue is empty: 0 at end of stream, an error,
 * or -EAGAIN. */
static ssize_t zc__tcp_recv_empty(struct zc_tcp_sock *s)
{
	if (s->fin_rcvd || s->rd_shut)
		return 0;
	if (s->error)
		return -zc_tcp_error(s);
	if (s->state == ZC_TCP_CLOSED)
		return s->rport ? 0 : -ENOTCONN;
	if (s->state == ZC_TCP_LISTEN)
		return -ENOTCONN;
	return -EAGAIN;
}

/* After a read took `done` bytes: a window update when the opening is worth
 * telling (RFC 1122 4.2.3.3). */
static void zc__tcp_read_done(struct zc_tcp_sock *s, uint32_t done)
{
	uint32_t space0 = zc__tcp_rcv_space(s);
	s->rq_len -= done;
	uint32_t space = zc__tcp_rcv_space(s);
	uint32_t adv = seq_gt(s->rcv_adv, s->rcv_nxt) ? s->rcv_adv - s->rcv_nxt : 0;
	if (zc__connected(s) && space > space0 &&
	    (space - adv >= 2u * s->adv_mss || space - adv >= s->rb_win / 2)) {
		s->ack_now = true;
		zc__tcp_output(s);
		zc__tx_flush(s->st);
	}
}

uint32_t zc_tcp_change(const struct zc_tcp_sock *s)
{
	return s->segs_in + (s->nacc << 20) + ((uint32_t)s->state << 28);
}

void zc_tcp_rcv_hint(struct zc_tcp_sock *s, size_t len)
{
	if (!s->rb_auto || len <= s->rb_win / 3)
		return;
	uint64_t want = 3ull * len;
	uint32_t old = s->rb_win;
	s->rb_win = want < s->rb_max ? (uint32_t)want : s->rb_max;
	uint32_t adv = seq_gt(s->rcv_adv, s->rcv_nxt) ? s->rcv_adv - s->rcv_nxt : 0;
	if (s->rb_win > old && zc__connected(s) && zc__tcp_rcv_space(s) >= adv + 2u * s->adv_mss) {
		s->ack_now = true;
		zc__tcp_output(s);
		zc__tx_flush(s->st);
	}
}

static void zc__tcp_rq_pop(struct zc_tcp_sock *s)
{
	struct zc_mbuf *m = s->rq_head;
	s->rq_head = m->nextpkt;
	if (s->rq_head == NULL)
		s->rq_tail = NULL;
	m->nextpkt = NULL;
}

ssize_t zc_tcp_recv(struct zc_tcp_sock *s, void *buf, size_t len)
{
	if (s->rq_len == 0)
		return zc__tcp_recv_empty(s);
	uint8_t *p = buf;
	size_t done = 0;
	while (done < len && s->rq_head) {
		struct zc_mbuf *m = s->rq_head;
		uint32_t k = zc_mbuf_copydata(m, 0, (uint32_t)(len - done < m->pkt_len ? len - done : m->pkt_len),
					      p + done);
		done += k;
		if (k == m->pkt_len) {
			zc__tcp_rq_pop(s);
			zc_mbuf_free(m);
		} else {
			zc_mbuf_adj(m, k);
		}
	}
	zc__tcp_read_done(s, (uint32_t)done);
	return (ssize_t)done;
}

ssize_t zc_tcp_peek(const struct zc_tcp_sock *s, void *buf, size_t len)
{
	if (s->rq_len == 0)
		return zc__tcp_recv_empty((struct zc_tcp_sock *)s);
	uint8_t *p = buf;
	size_t done = 0;
	for (const struct zc_mbuf *m = s->rq_head; m && done < len; m = m->nextpkt)
		done += zc_mbuf_copydata(m, 0, (uint32_t)(len - done < m->pkt_len ? len - done : m->pkt_len),
					 p + done);
	return (ssize_t)done;
}

uint32_t zc_tcp_readable(const struct zc_tcp_sock *s) { return s->rq_len; }
const struct zc_mbuf *zc_tcp_rq_peek(const struct zc_tcp_sock *s) { return s->rq_head; }

ssize_t zc_tcp_recv_chain(struct zc_tcp_sock *s, size_t len, struct zc_mbuf **out)
{
	*out = NULL;
	if (s->rq_len == 0)
		return zc__tcp_recv_empty(s);
	struct zc_mbuf *head = NULL, **tail = &head;
	size_t done = 0;
	while (done < len && s->rq_head) {
		struct zc_mbuf *m = s->rq_head;
		if (m->pkt_len <= len - done) {
			zc__tcp_rq_pop(s);
		} else {
			/* the front of this packet: new segments over the same buffers */
			struct zc_mbuf *c = zc_mbuf_clone(m);
			if (c == NULL)
				break;
			zc_mbuf_trim(c, c->pkt_len - (uint32_t)(len - done));
			zc_mbuf_adj(m, (uint32_t)(len - done));
			m = c;
		}
		done += m->pkt_len;
		*tail = m;
		tail = &m->nextpkt;
	}
	*out = head;
	if (done == 0)
		return -ENOBUFS;
	zc__tcp_read_done(s, (uint32_t)done);
	return (ssize_t)done;
}

int64_t zc_tcp_recv_frame(struct zc_tcp_sock *s, const struct zc_pool *pool)
{
	uint32_t fs = zc_pool_frame_size(pool);
	if (s->rq_len < fs)
		return -1;
	/* the next fs bytes: one frame from its first byte on, in order (the
	 * last packet may go on into the next frame) */
	int64_t frame = -1;
	uint32_t got = 0, refs = 0, npkts = 0;
	for (const struct zc_mbuf *m = s->rq_head; m && got < fs; m = m->nextpkt, npkts++) {
		for (const struct zc_mbuf *g = m; g && got < fs; g = g->next) {
			/* an emptied piece holds nothing of the frame's bytes: a
			 * packet that went on into this frame and was read up to
			 * the end of the last one starts with one (it still holds
			 * the last frame, or this one: counted then) */
			if (g->len == 0) {
				if (g->kind == ZC_MBUF_FRAME_BUF && g->pool == pool && frame >= 0 &&
				    g->frame == (uint32_t)frame)
					refs++;
				continue;
			}
			if (g->kind != ZC_MBUF_FRAME_BUF || g->pool != pool)
				return -1;
			if (frame < 0)
				frame = g->frame;
			if (g->frame != (uint32_t)frame || g->data != zc_pool_frame_addr(pool, g->frame) + got)
				return -1;
			got += g->len;
			refs++;
		}
	}
	if (got != fs || zc_pool_frame_refcnt(pool, (uint32_t)frame) != refs)
		return -1;
	/* take it: whole packets leave the queue; the last one may keep bytes
	 * of the next frame. The caller keeps one reference to the frame. */
	bool kept = false;
	uint32_t taken = 0;
	for (uint32_t i = 0; i < npkts; i++) {
		struct zc_mbuf *p = s->rq_head;
		bool whole = taken + p->pkt_len <= fs;
		if (!whole)
			zc_mbuf_adj(p, fs - taken);
		else
			taken += p->pkt_len;
		for (struct zc_mbuf *g = p; g; g = g->next) {
			if (g->kind != ZC_MBUF_FRAME_BUF || g->frame != (uint32_t)frame || (!whole && g->len))
				continue;
			zc_mbuf_detach_frame(g);
			if (kept)
				zc_pool_frame_put((struct zc_pool *)pool, (uint32_t)frame);
			kept = true;
		}
		if (whole) {
			zc__tcp_rq_pop(s);
			zc_mbuf_free(p);
		}
	}
	zc__tcp_read_done(s, fs);
	return frame;
}

int zc_tcp_shutdown(struct zc_tcp_sock *s, int how)
{
	if (how < 0 || how > 2)
		return -EINVAL;
	if (!zc__connected(s) && s->state != ZC_TCP_SYN_SENT && s->state != ZC_TCP_SYN_RECEIVED)
		return -ENOTCONN;
	if (how != 1)
		s->rd_shut = true;
	if (how != 0 && !s->wr_shut) {
		s->wr_shut = true;
		if (s->state == ZC_TCP_ESTABLISHED || s->state == ZC_TCP_CLOSE_WAIT ||
		    s->state == ZC_TCP_SYN_RECEIVED) {
			s->fin_pending = true;
			zc__tcp_set_state(s, s->state == ZC_TCP_CLOSE_WAIT ? ZC_TCP_LAST_ACK : ZC_TCP_FIN_WAIT_1);
			zc__tcp_output(s);
			zc__tx_flush(s->st);
		} else if (s->state == ZC_TCP_SYN_SENT) {
			zc__tcp_drop(s, 0);
		}
	}
	return 0;
}

static void zc__tcp_close(struct zc_tcp_sock *s);

void zc_tcp_close(struct zc_tcp_sock *s)
{
	if (s == NULL)
		return;
	struct zc_stack *st = s->st;
	zc__tcp_close(s);
	zc__tx_flush(st);
}

static void zc__tcp_close(struct zc_tcp_sock *s)
{
	s->orphan = true;
	switch (s->state) {
	case ZC_TCP_LISTEN: {
		/* children never accepted are reset */
		while (s->acc_head) {
			struct zc_tcp_sock *c = s->acc_head;
			zc__tcp_unlink_child(c);
			zc__tcp_send_rst(c);
			c->orphan = true;
			zc__tcp_closed(c);
		}
		for (struct zc_tcp_sock *c = s->st->tcp->all, *n; c; c = n) {
			n = c->anext;
			if (c->parent == s) {
				zc__tcp_send_rst(c);
				zc__tcp_closed(c);
			}
		}
		zc__tcp_closed(s);
		return;
	}
	case ZC_TCP_CLOSED:
	case ZC_TCP_SYN_SENT:
		zc__tcp_closed(s);
		return;
	default:
		break;
	}
	if (s->rq_len > 0 || s->linger_s == 0) {
		/* unread data or SO_LINGER 0: reset (RFC 2525 2.17) */
		zc__tcp_send_rst(s);
		zc__tcp_drop(s, 0);
		return;
	}
	if (!s->wr_shut) {
		s->wr_shut = true;
		s->rd_shut = true;
		if (s->state == ZC_TCP_ESTABLISHED || s->state == ZC_TCP_CLOSE_WAIT ||
		    s->state == ZC_TCP_SYN_RECEIVED) {
			s->fin_pending = true;
			zc__tcp_set_state(s, s->state == ZC_TCP_CLOSE_WAIT ? ZC_TCP_LAST_ACK : ZC_TCP_FIN_WAIT_1);
			zc__tcp_output(s);
		}
	}
	if (s->state == ZC_TCP_FIN_WAIT_2) /* orphan FIN_WAIT_2 times out (Linux tcp_fin_timeout) */
		zc__tcp_timer_set(s, ZC__T_2MSL, s->st->now + 2 * s->st->tcp->cfg.msl_ns);
}

unsigned zc_tcp_events(const struct zc_tcp_sock *s)
{
	unsigned ev = 0;
	if (s->state == ZC_TCP_LISTEN)
		return s->acc_head ? POLLIN : 0;
	if (s->rq_len || s->fin_rcvd || s->rd_shut)
		ev |= POLLIN;
	if (s->fin_rcvd)
		ev |= POLLRDHUP;
	if ((s->state == ZC_TCP_ESTABLISHED || s->state == ZC_TCP_CLOSE_WAIT) && !s->wr_shut &&
	    s->sb_len < zc_tcp_send_limit(s))
		ev |= POLLOUT;
	if (s->error)
		ev |= POLLERR;
	if (s->state == ZC_TCP_CLOSED && s->rport)
		ev |= POLLHUP | POLLIN;
	if (s->fin_rcvd && s->wr_shut)
		ev |= POLLHUP;
	return ev;
}

int zc_tcp_error(struct zc_tcp_sock *s)
{
	int e = s->error;
	s->error = 0;
	return e;
}

enum zc_tcp_state zc_tcp_get_state(const struct zc_tcp_sock *s) { return (enum zc_tcp_state)s->state; }

int zc_tcp_local(const struct zc_tcp_sock *s, uint32_t *ip, uint16_t *port)
{
	*ip = s->lip ? s->lip : (s->rport ? s->st->ip : 0);
	*port = s->lport;
	return 0;
}

int zc_tcp_remote(const struct zc_tcp_sock *s, uint32_t *ip, uint16_t *port)
{
	if (s->rport == 0 || s->state == ZC_TCP_SYN_SENT)
		return -ENOTCONN;
	*ip = s->rip;
	*port = s->rport;
	return 0;
}

int zc_tcp_setopt(struct zc_tcp_sock *s, enum zc_tcp_opt opt, int v)
{
	switch (opt) {
	case ZC_TCP_OPT_NODELAY:
		s->nodelay = v != 0;
		break;
	case ZC_TCP_OPT_CORK:
		s->cork = v != 0;
		break;
	case ZC_TCP_OPT_KEEPALIVE:
		s->keepalive = v != 0;
		zc__tcp_keep_reset(s);
		return 0;
	case ZC_TCP_OPT_KEEPIDLE:
	case ZC_TCP_OPT_KEEPINTVL:
		if (v < 1 || v > 32767)
			return -EINVAL;
		*(opt == ZC_TCP_OPT_KEEPIDLE ? &s->keepidle_s : &s->keepintvl_s) = (uint32_t)v;
		zc__tcp_keep_reset(s);
		return 0;
	case ZC_TCP_OPT_KEEPCNT:
		if (v < 1 || v > 127)
			return -EINVAL;
		s->keepcnt = (uint32_t)v;
		return 0;
	case ZC_TCP_OPT_SNDBUF:
	case ZC_TCP_OPT_RCVBUF:
		if (v < 4096 || v > (1 << 30))
			return -EINVAL;
		if (opt == ZC_TCP_OPT_SNDBUF) {
			s->sb_max = (uint32_t)v;
			s->sb_auto = false; /* set by the application: no autotuning */
		} else {
			s->rb_max = s->rb_win = (uint32_t)v;
			s->rb_auto = false;
		}
		return 0;
	case ZC_TCP_OPT_MAXSEG:
		if (v < 88 || v > 65535 || (s->state != ZC_TCP_CLOSED && s->state != ZC_TCP_LISTEN))
			return -EINVAL;
		s->user_mss = (uint16_t)v;
		return 0;
	case ZC_TCP_OPT_LINGER:
		s->linger_s = v < 0 ? -1 : v;
		return 0;
	case ZC_TCP_OPT_QUICKACK:
		s->quickack = v ? ZC__TCP_QUICKACKS : 0;
		return 0;
	default:
		return -ENOPROTOOPT;
	}
	if (s->state >= ZC_TCP_ESTABLISHED) {
		zc__tcp_output(s); /* uncorking or NODELAY may release data */
		zc__tx_flush(s->st);
	}
	return 0;
}

int zc_tcp_getopt(const struct zc_tcp_sock *s, enum zc_tcp_opt opt, int *v)
{
	switch (opt) {
	case ZC_TCP_OPT_NODELAY: *v = s->nodelay; break;
	case ZC_TCP_OPT_CORK: *v = s->cork; break;
	case ZC_TCP_OPT_KEEPALIVE: *v = s->keepalive; break;
	case ZC_TCP_OPT_KEEPIDLE: *v = (int)s->keepidle_s; break;
	case ZC_TCP_OPT_KEEPINTVL: *v = (int)s->keepintvl_s; break;
	case ZC_TCP_OPT_KEEPCNT: *v = (int)s->keepcnt; break;
	case ZC_TCP_OPT_SNDBUF: *v = (int)s->sb_max; break;
	case ZC_TCP_OPT_RCVBUF: *v = (int)s->rb_max; break;
	case ZC_TCP_OPT_MAXSEG: *v = s->state >= ZC_TCP_ESTABLISHED ? s->mss : (s->user_mss ? s->user_mss : 536); break;
	case ZC_TCP_OPT_LINGER: *v = s->linger_s; break;
	case ZC_TCP_OPT_QUICKACK: *v = s->quickack > 0; break;
	default: return -ENOPROTOOPT;
	}
	return 0;
}

void zc_tcp_get_info(const struct zc_tcp_sock *s, struct zc_tcp_info *i)
{
	memset(i, 0, sizeof(*i));
	/* Linux's TCP_* state numbers differ from RFC order */
	static const uint8_t linux_state[] = { 7, 10, 2, 3, 1, 4, 5, 8, 11, 9, 6 };
	uint64_t now = s->st->now;
	i->tcpi_state = linux_state[s->state];
	i->tcpi_ca_state = s->in_recovery ? 3 : 0;
	i->tcpi_retransmits = (uint8_t)s->rexmt_count;
	i->tcpi_backoff = (uint8_t)s->backoff;
	i->tcpi_options = (uint8_t)((s->ts_ok ? 1 : 0) | (s->ws_ok ? 4 : 0));
	i->tcpi_snd_wscale = s->ws_ok ? s->snd_wscale : 0;
	i->tcpi_rcv_wscale = s->ws_ok ? s->rcv_wscale : 0;
	i->tcpi_rto = (uint32_t)(s->rto / 1000);
	i->tcpi_ato = (uint32_t)(s->st->tcp->cfg.delack_ns / 1000);
	i->tcpi_snd_mss = s->mss;
	i->tcpi_rcv_mss = s->adv_mss;
	i->tcpi_unacked = s->mss ? (s->snd_max - s->snd_una + s->mss - 1) / s->mss : 0;
	i->tcpi_last_data_sent = (uint32_t)((now - s->last_data_tx) / 1000000);
	i->tcpi_last_data_recv = (uint32_t)((now - s->last_data_rx) / 1000000);
	i->tcpi_last_ack_recv = (uint32_t)((now - s->last_ack_rx) / 1000000);
	i->tcpi_pmtu = s->st->nif->caps.mtu;
	i->tcpi_rcv_ssthresh = zc__tcp_rcv_space(s);
	i->tcpi_rtt = (uint32_t)(s->srtt / 1000);
	i->tcpi_rttvar = (uint32_t)(s->rttvar / 1000);
	i->tcpi_snd_ssthresh = s->mss ? s->ssthresh / s->mss : 0;
	i->tcpi_snd_cwnd = s->mss ? s->cwnd / s->mss : 0;
	i->tcpi_advmss = s->adv_mss;
	i->tcpi_reordering = 3;
	i->tcpi_rcv_space = s->rb_win;
	i->tcpi_total_retrans = s->total_retrans;
	i->tcpi_bytes_acked = s->bytes_acked;
	i->tcpi_bytes_received = s->bytes_received;
	i->tcpi_segs_out = s->segs_out;
	i->tcpi_segs_in = s->segs_in;
	i->tcpi_notsent_bytes = s->sb_len > (s->snd_nxt - s->snd_una) ? s->sb_len - (s->snd_nxt - s->snd_una) : 0;
	i->tcpi_data_segs_in = s->data_segs_in;
	i->tcpi_data_segs_out = s->data_segs_out;
	i->tcpi_bytes_sent = s->bytes_sent;
	i->tcpi_bytes_retrans = s->bytes_retrans;
	i->tcpi_rcv_ooopack = s->ooo_packets;
	i->tcpi_snd_wnd = s->snd_wnd;
}

void zc_tcp_get_stats(const struct zc_stack *st, struct zc_tcp_stats *out) { *out = st->tcp->stats; }
unsigned zc_tcp_count(const struct zc_stack *st) { return st->tcp->count; }

unsigned zc_tcp_unfinished(const struct zc_stack *st)
{
	unsigned n = 0;
	for (const struct zc_tcp_sock *s = st->tcp->all; s; s = s->anext)
		switch (s->state) {
		case ZC_TCP_SYN_SENT:
		case ZC_TCP_SYN_RECEIVED:
		case ZC_TCP_ESTABLISHED:
		case ZC_TCP_CLOSE_WAIT:
		case ZC_TCP_FIN_WAIT_1:
		case ZC_TCP_CLOSING:
		case ZC_TCP_LAST_ACK:
			n++;
			break;
		default:
			break;
		}
	return n;
}
