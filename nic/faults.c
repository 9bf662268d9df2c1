/*
 * faults.c - the fault-injection middleware (see faults.h).
 *
 * Each direction runs packets through the same engine, in this order:
 * loss -> duplication -> corruption (each copy on its own) -> reordering ->
 * delay. Packets the engine lets through wait in an output queue until the
 * lower netif (tx) or the caller (rx) takes them, so a busy lower layer
 * never loses a packet the caller handed over.
 *
 * Corruption flips one random bit of one copy. A buffer that other segments
 * share (a clone for retransmission, an external buffer) is copied into a
 * fresh frame first, so that only the bytes on the wire change.
 */
#include "nic/faults.h"
#include "stack/log.h"
#include "stack/pool.h"
#include "stack/rng.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct zc__q {
	struct zc_mbuf *head, *tail;
	uint32_t n;
};

struct zc__fdir {
	struct zc__q out;      /* ready for the lower layer / the caller */
	struct zc__q delayed;  /* tstamp holds the due time */
	struct zc_mbuf *held;  /* reordering: waiting for the next packet */
	uint64_t held_due;
	struct zc_fault_stats st;
};

struct zc__faults {
	struct zc_netif nif;
	struct zc_fault_config cfg;
	struct zc_rng rng;
	struct zc__fdir tx, rx;
};

static struct zc__faults *zc__f(struct zc_netif *n) { return (struct zc__faults *)n; }

static void zc__q_push(struct zc__q *q, struct zc_mbuf *m)
{
	m->nextpkt = NULL;
	if (q->tail)
		q->tail->nextpkt = m;
	else
		q->head = m;
	q->tail = m;
	q->n++;
}

static struct zc_mbuf *zc__q_pop(struct zc__q *q)
{
	struct zc_mbuf *m = q->head;
	if (m) {
		q->head = m->nextpkt;
		if (q->head == NULL)
			q->tail = NULL;
		q->n--;
		m->nextpkt = NULL;
	}
	return m;
}

static void zc__q_free(struct zc__q *q)
{
	struct zc_mbuf *m;
	while ((m = zc__q_pop(q)))
		zc_mbuf_free(m);
}

/* Make segment s writable without touching a buffer others see. 0 or -ENOBUFS. */
static int zc__own_segment(struct zc_mbuf *s)
{
	bool shared = (s->kind == ZC_MBUF_FRAME_BUF && zc_pool_frame_refcnt(s->pool, s->frame) > 1) ||
		      s->kind == ZC_MBUF_EXT_BUF;
	if (!shared)
		return 0;
	int64_t f = zc_pool_frame_alloc(s->pool);
	if (f < 0 || s->len > zc_pool_frame_size(s->pool)) {
		if (f >= 0)
			zc_pool_frame_put(s->pool, (uint32_t)f);
		return -ENOBUFS;
	}
	uint8_t *dst = zc_pool_frame_addr(s->pool, (uint32_t)f);
	uint32_t off = (uint32_t)(s->data - s->buf);
	if (off + s->len > zc_pool_frame_size(s->pool))
		off = 0;
	memcpy(dst + off, s->data, s->len);
	if (s->kind == ZC_MBUF_FRAME_BUF) {
		zc_pool_frame_put(s->pool, s->frame);
	} else if (--s->shinfo->refcnt == 0 && s->shinfo->free_cb) {
		s->shinfo->free_cb(s->buf, s->shinfo->arg);
	}
	s->kind = ZC_MBUF_FRAME_BUF;
	s->frame = (uint32_t)f;
	s->buf = dst;
	s->buf_len = zc_pool_frame_size(s->pool);
	s->data = dst + off;
	s->shinfo = NULL;
	return 0;
}

static void zc__corrupt(struct zc__faults *f, struct zc__fdir *d, struct zc_mbuf *m)
{
	if (m->pkt_len == 0)
		return;
	uint64_t bit = zc_rng_below(&f->rng, (uint64_t)m->pkt_len * 8);
	uint32_t off = (uint32_t)(bit / 8);
	for (struct zc_mbuf *s = m; s; s = s->next) {
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		if (zc__own_segment(s) != 0)
			return; /* no frame to copy into: leave it intact, uncounted */
		s->data[off] ^= (uint8_t)(1u << (bit % 8));
		/* the NIC's checksum verdict no longer holds for these bytes */
		m->flags &= (uint8_t)~(ZC_MBUF_F_L3_CSUM_OK | ZC_MBUF_F_L4_CSUM_OK);
		d->st.corrupted++;
		return;
	}
}

static void zc__emit(struct zc__faults *f, struct zc__fdir *d, struct zc_mbuf *m, uint64_t now)
{
	if (f->cfg.delay_ns) {
		m->tstamp = now + f->cfg.delay_ns;
		d->st.delayed++;
		zc__q_push(&d->delayed, m);
	} else {
		zc__q_push(&d->out, m);
	}
}

static void zc__reorder_stage(struct zc__faults *f, struct zc__fdir *d, struct zc_mbuf *m, uint64_t now)
{
	if (d->held) {
		zc__emit(f, d, m, now);
		zc__emit(f, d, d->held, now);
		d->held = NULL;
		d->st.reordered++;
		return;
	}
	if (zc_rng_chance(&f->rng, f->cfg.reorder)) {
		d->held = m;
		d->held_due = now + (f->cfg.reorder_hold_ns ? f->cfg.reorder_hold_ns : 1000000u);
		return;
	}
	zc__emit(f, d, m, now);
}

/* Run one packet through the engine. */
static void zc__inject(struct zc__faults *f, struct zc__fdir *d, struct zc_mbuf *m, uint64_t now)
{
	d->st.seen++;
	if (zc_rng_chance(&f->rng, f->cfg.loss)) {
		d->st.dropped++;
		zc_mbuf_free(m);
		return;
	}
	struct zc_mbuf *copies[2] = { m, NULL };
	if (zc_rng_chance(&f->rng, f->cfg.dup)) {
		copies[1] = zc_mbuf_clone(m);
		if (copies[1])
			d->st.duplicated++;
	}
	for (int i = 0; i < 2 && copies[i]; i++) {
		if (zc_rng_chance(&f->rng, f->cfg.corrupt))
			zc__corrupt(f, d, copies[i]);
		zc__reorder_stage(f, d, copies[i], now);
	}
}

/* Move what is due by now into the output queue. */
static void zc__due(struct zc__faults *f, struct zc__fdir *d, uint64_t now)
{
	if (d->held && d->held_due <= now) {
		struct zc_mbuf *h = d->held;
		d->held = NULL;
		zc__emit(f, d, h, now);
	}
	while (d->delayed.head && d->delayed.head->tstamp <= now)
		zc__q_push(&d->out, zc__q_pop(&d->delayed));
}

static void zc__push_down(struct zc__faults *f, uint64_t now)
{
	struct zc_mbuf *batch[32];
	while (f->tx.out.n) {
		int k = 0;
		for (struct zc_mbuf *m = f->tx.out.head; m && k < 32; m = m->nextpkt)
			batch[k++] = m;
		int sent = zc_netif_tx(f->nif.lower, batch, k, now);
		for (int i = 0; i < sent; i++)
			zc__q_pop(&f->tx.out); /* now the lower layer's */
		if (sent < k)
			break;
	}
}

static int zc__f_tx(struct zc_netif *nif, struct zc_mbuf **pkts, int n, uint64_t now)
{
	struct zc__faults *f = zc__f(nif);
	if (!(f->cfg.dir & ZC_FAULT_TX))
		return zc_netif_tx(nif->lower, pkts, n, now);
	zc__due(f, &f->tx, now);
	zc__push_down(f, now);
	if (f->tx.out.n > 256)
		return 0; /* the lower layer is busy: push back on the caller */
	for (int i = 0; i < n; i++)
		zc__inject(f, &f->tx, pkts[i], now);
	zc__push_down(f, now);
	return n;
}

static int zc__f_rx(struct zc_netif *nif, struct zc_mbuf **pkts, int n, uint64_t now)
{
	struct zc__faults *f = zc__f(nif);
	if (!(f->cfg.dir & ZC_FAULT_RX))
		return zc_netif_rx(nif->lower, pkts, n, now);
	if (f->rx.out.n < (uint32_t)n) {
		struct zc_mbuf *in[32];
		int k = zc_netif_rx(nif->lower, in, n < 32 ? n : 32, now);
		for (int i = 0; i < k; i++)
			zc__inject(f, &f->rx, in[i], now);
	}
	zc__due(f, &f->rx, now);
	int got = 0;
	while (got < n && f->rx.out.n)
		pkts[got++] = zc__q_pop(&f->rx.out);
	return got;
}

static void zc__f_flush(struct zc_netif *nif, uint64_t now)
{
	struct zc__faults *f = zc__f(nif);
	zc__due(f, &f->tx, now);
	zc__push_down(f, now);
	zc__due(f, &f->rx, now);
	zc_netif_flush(nif->lower, now);
}

static uint64_t zc__dir_due(const struct zc__fdir *d)
{
	uint64_t t = UINT64_MAX;
	if (d->out.n)
		return 0;
	if (d->held)
		t = d->held_due;
	if (d->delayed.head && d->delayed.head->tstamp < t)
		t = d->delayed.head->tstamp;
	return t;
}

static uint64_t zc__f_next_due(struct zc_netif *nif)
{
	struct zc__faults *f = zc__f(nif);
	uint64_t a = zc__dir_due(&f->tx), b = zc__dir_due(&f->rx), c = zc_netif_next_due(nif->lower);
	uint64_t m = a < b ? a : b;
	return m < c ? m : c;
}

static int zc__f_irq_fd(struct zc_netif *nif) { return nif->lower->ops->irq_fd(nif->lower); }

static int zc__f_irq_arm(struct zc_netif *nif)
{
	if (zc__f(nif)->rx.out.n)
		return -EAGAIN;
	return nif->lower->ops->irq_arm(nif->lower);
}

static void zc__f_irq_ack(struct zc_netif *nif) { nif->lower->ops->irq_ack(nif->lower); }

static void zc__f_stats(struct zc_netif *nif, struct zc_netif_stats *st)
{
	nif->lower->ops->get_stats(nif->lower, st);
}

void zc_faults_get_stats(struct zc_netif *nif, enum zc_fault_dir dir, struct zc_fault_stats *st)
{
	struct zc__faults *f = zc__f(nif);
	*st = dir == ZC_FAULT_RX ? f->rx.st : f->tx.st;
}

static void zc__f_close(struct zc_netif *nif)
{
	struct zc__faults *f = zc__f(nif);
	struct zc__fdir *dirs[2] = { &f->tx, &f->rx };
	for (int i = 0; i < 2; i++) {
		zc__q_free(&dirs[i]->out);
		zc__q_free(&dirs[i]->delayed);
		zc_mbuf_free(dirs[i]->held);
	}
	zc_netif_close(nif->lower);
	free(f);
}

static const struct zc_netif_ops zc__faults_ops = {
	.rx_burst = zc__f_rx,
	.tx_burst = zc__f_tx,
	.flush = zc__f_flush,
	.next_due = zc__f_next_due,
	.irq_fd = zc__f_irq_fd,
	.irq_arm = zc__f_irq_arm,
	.irq_ack = zc__f_irq_ack,
	.get_stats = zc__f_stats,
	.close = zc__f_close,
};

struct zc_netif *zc_faults_wrap(struct zc_netif *lower, const struct zc_fault_config *cfg)
{
	struct zc__faults *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	f->nif = *lower;
	/* a bit flipped on transmit must be caught by the receiver's checksum:
	 * compute it in software, before the flip, not in the NIC after it */
	if (cfg->corrupt > 0 && (cfg->dir == 0 || (cfg->dir & ZC_FAULT_TX)))
		f->nif.caps.tx_csum = false;
	f->nif.ops = &zc__faults_ops;
	f->nif.lower = lower;
	snprintf(f->nif.name, sizeof(f->nif.name), "faults(%.38s)", lower->name);
	f->cfg = *cfg;
	if (f->cfg.dir == 0)
		f->cfg.dir = ZC_FAULT_TX;
	zc_rng_seed(&f->rng, cfg->seed);
	return &f->nif;
}

/* --- configuration ------------------------------------------------------------ */

static int zc__parse_prob(const char *key, const char *v, double *out)
{
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (errno || end == v || *end || !(d >= 0.0 && d <= 1.0)) {
		ZC_ERR("faults: %s=%s: expected a probability between 0 and 1", key, v);
		return -EINVAL;
	}
	*out = d;
	return 0;
}

/* "50ms", "20us", "1s", "1000ns" or bare ns. */
int zc_parse_duration(const char *v, uint64_t *out)
{
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (errno || end == v || !(d >= 0)) /* NaN too: fuzz_config's finding */
		return -EINVAL;
	double mul = 1;
	if (*end == '\0' || strcmp(end, "ns") == 0)
		mul = 1;
	else if (strcmp(end, "us") == 0)
		mul = 1e3;
	else if (strcmp(end, "ms") == 0)
		mul = 1e6;
	else if (strcmp(end, "s") == 0)
		mul = 1e9;
	else
		return -EINVAL;
	if (d * mul > 3.6e12)
		return -EINVAL; /* an hour is plenty */
	*out = (uint64_t)(d * mul);
	return 0;
}

int zc_faults_parse(const char *s, struct zc_fault_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->dir = ZC_FAULT_TX;
	cfg->seed = 1;
	char buf[256];
	if (strlen(s) >= sizeof(buf)) {
		ZC_ERR("faults: configuration too long");
		return -EINVAL;
	}
	strcpy(buf, s);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (eq == NULL) {
			ZC_ERR("faults: '%s': expected key=value", tok);
			return -EINVAL;
		}
		*eq = '\0';
		const char *k = tok, *v = eq + 1;
		int r = 0;
		if (strcmp(k, "loss") == 0)
			r = zc__parse_prob(k, v, &cfg->loss);
		else if (strcmp(k, "dup") == 0)
			r = zc__parse_prob(k, v, &cfg->dup);
		else if (strcmp(k, "reorder") == 0)
			r = zc__parse_prob(k, v, &cfg->reorder);
		else if (strcmp(k, "corrupt") == 0)
			r = zc__parse_prob(k, v, &cfg->corrupt);
		else if (strcmp(k, "delay") == 0 || strcmp(k, "hold") == 0) {
			if (zc_parse_duration(v, k[0] == 'd' ? &cfg->delay_ns : &cfg->reorder_hold_ns)) {
				ZC_ERR("faults: %s=%s: expected a duration such as 50ms", k, v);
				r = -EINVAL;
			}
		} else if (strcmp(k, "seed") == 0) {
			char *end;
			errno = 0;
			cfg->seed = strtoull(v, &end, 0);
			if (errno || end == v || *end) {
				ZC_ERR("faults: seed=%s: expected an integer", v);
				r = -EINVAL;
			}
		} else if (strcmp(k, "dir") == 0) {
			if (strcmp(v, "tx") == 0)
				cfg->dir = ZC_FAULT_TX;
			else if (strcmp(v, "rx") == 0)
				cfg->dir = ZC_FAULT_RX;
			else if (strcmp(v, "both") == 0)
				cfg->dir = ZC_FAULT_BOTH;
			else {
				ZC_ERR("faults: dir=%s: expected tx, rx or both", v);
				r = -EINVAL;
			}
		} else {
			ZC_ERR("faults: unknown key '%s' (loss, dup, reorder, corrupt, delay, hold, seed, dir)", k);
			r = -EINVAL;
		}
		if (r)
			return r;
	}
	return 0;
}
