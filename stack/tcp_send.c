/*
 * tcp_send.c - the send buffer: what the application hands over, by copy
 * into pool frames (zc_tcp_send) or by reference to its own memory
 * (zc_tcp_send_ext, with zc_tcp_unref_ext as the deferred copy), how much
 * room it has (with autotuning: twice the peer's largest window), and
 * acknowledged bytes leaving it. tcp_output.c makes segments that
 * reference these bytes; they stay here until acknowledged.
 */
#include "stack/tcp_priv.h"

#include <errno.h>
#include <string.h>

/* May the application send now? 0, or what zc_tcp_send returns instead. */
static int zc__tcp_send_check(struct zc_tcp_sock *s)
{
	if (s->error)
		return -zc_tcp_error(s);
	if (s->wr_shut || s->fin_pending)
		return -EPIPE;
	if (s->state == ZC_TCP_SYN_SENT || s->state == ZC_TCP_SYN_RECEIVED)
		return -EAGAIN;
	if (!zc__tcp_connected(s) || s->state == ZC_TCP_CLOSED)
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

void zc__tcp_sb_drop(struct zc_tcp_sock *s, uint32_t n)
{
	/* writers are woken when the buffer becomes writable (POLLOUT's
	 * rule, zc_tcp_events), as Linux's write space after SOCK_NOSPACE */
	uint64_t lim = zc_tcp_send_limit(s);
	if (3 * (uint64_t)s->sb_len > 2 * lim && 3 * (uint64_t)(s->sb_len - n) <= 2 * lim)
		s->wake_out++;
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

void zc_tcp_push(struct zc_tcp_sock *s)
{
	s->more = false;
	if (s->state >= ZC_TCP_ESTABLISHED) {
		zc__tcp_output(s);
		zc__tx_flush(s->st);
	}
}

void zc_tcp_send_urgent(struct zc_tcp_sock *s)
{
	if (s->sb_len == 0 || s->wr_shut)
		return;
	s->snd_up = s->snd_una + s->sb_len; /* one past the urgent byte (BSD, Linux) */
	s->urg_send = true;
	s->more = false;
	if (zc__tcp_connected(s)) {
		zc__tcp_output(s);
		zc__tx_flush(s->st);
	}
}
