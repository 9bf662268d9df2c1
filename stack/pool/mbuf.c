/*
 * mbuf.c - mbuf headers: a slab of them per pool with a free list, and the
 * operations on chains of segments (allocate, attach a frame or caller
 * memory, free, clone, reference a range, concatenate, pull headers up,
 * prepend/append/adj/trim, copy out, check the invariants).
 *
 * Place in the data path: drivers build received packets here (an inline
 * head and frame segments); every layer of the stack edits them in place
 * (pullup of its header, adj past it) and frees them; output prepends
 * headers into the inline head's headroom. The headers are the hot path of
 * every packet: allocation and free are a pop and a push on the free list,
 * kept static in this file beside their callers. A segment's frame
 * reference goes back through zc_pool_frame_put (frames.c).
 */
#include "stack/pool/pool_priv.h"
#include "stack/log.h"

#include <errno.h>
#include <string.h>

static struct zc_mbuf *zc__mget(struct zc_pool *p)
{
	if (zc__fail_now(p))
		return NULL;
	struct zc_mbuf *m = p->mfree;
	if (m == NULL) {
		p->alloc_failures++;
		return NULL;
	}
	p->mfree = m->next;
	p->nmfree--;
	memset(m, 0, offsetof(struct zc_mbuf, inline_buf));
	m->pool = p;
	m->in_use = 1;
	m->nb_segs = 1;
	return m;
}

static void zc__mput(struct zc_mbuf *m)
{
	struct zc_pool *p = m->pool;
	m->in_use = 0;
	m->next = p->mfree;
	p->mfree = m;
	p->nmfree++;
}

struct zc_mbuf *zc_mbuf_alloc(struct zc_pool *p)
{
	struct zc_mbuf *m = zc__mget(p);
	if (m == NULL)
		return NULL;
	m->kind = ZC_MBUF_INLINE_BUF;
	m->buf = m->inline_buf;
	m->buf_len = ZC_MBUF_INLINE;
	m->data = m->buf + ZC_MBUF_HEADROOM;
	return m;
}

struct zc_mbuf *zc_mbuf_attach_frame(struct zc_pool *p, uint32_t f)
{
	struct zc_mbuf *m = zc__mget(p);
	if (m == NULL)
		return NULL;
	m->kind = ZC_MBUF_FRAME_BUF;
	m->frame = f;
	m->buf = zc_pool_frame_addr(p, f);
	m->buf_len = p->frame_size;
	m->data = m->buf;
	return m;
}

struct zc_mbuf *zc_mbuf_alloc_frame(struct zc_pool *p)
{
	int64_t f = zc_pool_frame_alloc(p);
	if (f < 0)
		return NULL;
	struct zc_mbuf *m = zc_mbuf_attach_frame(p, (uint32_t)f);
	if (m == NULL)
		zc_pool_frame_put(p, (uint32_t)f);
	return m;
}

struct zc_mbuf *zc_mbuf_attach_ext(struct zc_pool *p, void *buf, uint32_t buf_len,
				   struct zc_ext_shinfo *sh)
{
	if (sh == NULL || buf == NULL)
		return NULL;
	struct zc_mbuf *m = zc__mget(p);
	if (m == NULL)
		return NULL;
	m->kind = ZC_MBUF_EXT_BUF;
	m->buf = buf;
	m->buf_len = buf_len;
	m->data = buf;
	m->shinfo = sh;
	sh->refcnt++;
	return m;
}

int64_t zc_mbuf_detach_frame(struct zc_mbuf *m)
{
	if (m->kind != ZC_MBUF_FRAME_BUF)
		return -1;
	uint32_t f = m->frame;
	m->kind = ZC_MBUF_INLINE_BUF;
	m->buf = m->inline_buf;
	m->buf_len = ZC_MBUF_INLINE;
	m->data = m->buf;
	m->len = 0;
	return f;
}

static void zc__release_buf(struct zc_mbuf *m)
{
	if (m->kind == ZC_MBUF_FRAME_BUF) {
		zc_pool_frame_put(m->pool, m->frame);
	} else if (m->kind == ZC_MBUF_EXT_BUF) {
		if (--m->shinfo->refcnt == 0 && m->shinfo->free_cb)
			m->shinfo->free_cb(m->buf, m->shinfo->arg);
	}
}

void zc_mbuf_free(struct zc_mbuf *m)
{
	while (m) {
		struct zc_mbuf *n = m->next;
		if (!m->in_use) {
			ZC_ERR("pool %s: double free of an mbuf", m->pool->name);
			return;
		}
		zc__release_buf(m);
		zc__mput(m);
		m = n;
	}
}

struct zc_mbuf *zc_mbuf_clone(struct zc_mbuf *m)
{
	struct zc_mbuf *head = NULL, **tail = &head;
	for (const struct zc_mbuf *s = m; s; s = s->next) {
		struct zc_mbuf *c = zc__mget(s->pool);
		if (c == NULL) {
			zc_mbuf_free(head);
			return NULL;
		}
		c->kind = s->kind;
		c->frame = s->frame;
		c->buf_len = s->buf_len;
		c->shinfo = s->shinfo;
		c->len = s->len;
		if (s->kind == ZC_MBUF_INLINE_BUF) {
			c->buf = c->inline_buf;
			memcpy(c->inline_buf, s->inline_buf, ZC_MBUF_INLINE);
			c->data = c->buf + (s->data - s->buf);
		} else {
			c->buf = s->buf;
			c->data = s->data;
			if (s->kind == ZC_MBUF_FRAME_BUF)
				s->pool->frames[s->frame].refcnt++;
			else
				s->shinfo->refcnt++;
		}
		*tail = c;
		tail = &c->next;
	}
	head->pkt_len = m->pkt_len;
	head->nb_segs = m->nb_segs;
	head->flags = m->flags;
	head->tstamp = m->tstamp;
	return head;
}

struct zc_mbuf *zc_mbuf_ref(const struct zc_mbuf *s, uint32_t off, uint32_t len)
{
	if ((uint64_t)off + len > s->len)
		return NULL;
	struct zc_mbuf *c = zc__mget(s->pool);
	if (c == NULL)
		return NULL;
	c->kind = s->kind;
	c->frame = s->frame;
	c->buf_len = s->buf_len;
	c->shinfo = s->shinfo;
	c->len = len;
	c->pkt_len = len;
	if (s->kind == ZC_MBUF_INLINE_BUF) {
		c->buf = c->inline_buf;
		c->data = c->buf + (s->data - s->buf) + off;
		memcpy(c->data, s->data + off, len);
	} else {
		c->buf = s->buf;
		c->data = s->data + off;
		if (s->kind == ZC_MBUF_FRAME_BUF)
			s->pool->frames[s->frame].refcnt++;
		else
			s->shinfo->refcnt++;
	}
	return c;
}

void zc_mbuf_cat(struct zc_mbuf *h, struct zc_mbuf *t)
{
	struct zc_mbuf *l = h;
	while (l->next)
		l = l->next;
	l->next = t;
	h->pkt_len += t->pkt_len;
	h->nb_segs = (uint16_t)(h->nb_segs + t->nb_segs);
}

static struct zc_mbuf *zc__pullup(struct zc_mbuf *m, uint32_t n, bool private_head)
{
	if (m->len >= n && (!private_head || m->kind == ZC_MBUF_INLINE_BUF))
		return m;
	if (n > m->pkt_len || n > ZC_MBUF_INLINE - ZC_MBUF_HEADROOM)
		goto fail;
	if (m->kind != ZC_MBUF_INLINE_BUF) {
		struct zc_mbuf *h = zc_mbuf_alloc(m->pool);
		if (h == NULL)
			goto fail;
		h->next = m;
		h->pkt_len = m->pkt_len;
		h->nb_segs = (uint16_t)(m->nb_segs + 1);
		h->flags = m->flags;
		h->tstamp = m->tstamp;
		m = h;
	} else if (m->data + n > m->buf + m->buf_len) {
		uint8_t *to = m->buf + ZC_MBUF_HEADROOM;
		memmove(to, m->data, m->len);
		m->data = to;
	}
	/* move bytes from the following segments; emptied ones are unlinked */
	while (m->len < n) {
		struct zc_mbuf *s = m->next;
		uint32_t k = n - m->len < s->len ? n - m->len : s->len;
		memcpy(m->data + m->len, s->data, k);
		m->len += k;
		s->data += k;
		s->len -= k;
		if (s->len == 0) {
			m->next = s->next;
			s->next = NULL;
			m->nb_segs--;
			zc_mbuf_free(s);
		}
	}
	return m;
fail:
	zc_mbuf_free(m);
	return NULL;
}

struct zc_mbuf *zc_mbuf_pullup(struct zc_mbuf *m, uint32_t n) { return zc__pullup(m, n, false); }
struct zc_mbuf *zc_mbuf_pullup_private(struct zc_mbuf *m, uint32_t n) { return zc__pullup(m, n, true); }

static uint32_t zc__headroom(const struct zc_mbuf *m)
{
	return (uint32_t)(m->data - m->buf);
}

uint8_t *zc_mbuf_prepend(struct zc_mbuf *m, uint32_t n)
{
	if (n > zc__headroom(m))
		return NULL;
	m->data -= n;
	m->len += n;
	m->pkt_len += n;
	return m->data;
}

uint8_t *zc_mbuf_append(struct zc_mbuf *m, uint32_t n)
{
	struct zc_mbuf *l = m;
	while (l->next)
		l = l->next;
	if (n > (uint32_t)(l->buf + l->buf_len - (l->data + l->len)))
		return NULL;
	uint8_t *p = l->data + l->len;
	l->len += n;
	m->pkt_len += n;
	return p;
}

int zc_mbuf_adj(struct zc_mbuf *m, uint32_t n)
{
	if (n > m->pkt_len)
		return -EINVAL;
	m->pkt_len -= n;
	for (struct zc_mbuf *s = m; s && n; s = s->next) {
		uint32_t k = n < s->len ? n : s->len;
		s->data += k;
		s->len -= k;
		n -= k;
	}
	return 0;
}

int zc_mbuf_trim(struct zc_mbuf *m, uint32_t n)
{
	if (n > m->pkt_len)
		return -EINVAL;
	uint32_t keep = m->pkt_len - n;
	m->pkt_len = keep;
	for (struct zc_mbuf *s = m; s; s = s->next) {
		if (keep >= s->len) {
			keep -= s->len;
		} else {
			s->len = keep;
			keep = 0;
		}
	}
	return 0;
}

uint32_t zc_mbuf_copydata(const struct zc_mbuf *m, uint32_t off, uint32_t len, void *dst)
{
	uint8_t *d = dst;
	uint32_t done = 0;
	for (const struct zc_mbuf *s = m; s && done < len; s = s->next) {
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		uint32_t k = s->len - off;
		if (k > len - done)
			k = len - done;
		memcpy(d + done, s->data + off, k);
		done += k;
		off = 0;
	}
	return done;
}

int zc_mbuf_check(const struct zc_mbuf *m)
{
	uint32_t total = 0, segs = 0;
	for (const struct zc_mbuf *s = m; s; s = s->next) {
		if (!s->in_use || s->data < s->buf || s->data + s->len > s->buf + s->buf_len)
			return -EFAULT;
		if (s->kind == ZC_MBUF_INLINE_BUF && s->buf != s->inline_buf)
			return -EFAULT;
		total += s->len;
		segs++;
	}
	if (total != m->pkt_len || segs != m->nb_segs)
		return -EFAULT;
	return 0;
}
