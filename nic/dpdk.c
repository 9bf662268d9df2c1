/* dpdk.c - the DPDK NIC backend (see dpdk.h for the design). */
/* rte_pktmbuf_pool_create_extbuf is still marked experimental in 22.11 */
#define ALLOW_EXPERIMENTAL_API 1
#include "nic/dpdk.h"
#include "stack/log.h"
#include "stack/checksum.h"
#include "stack/pool.h"
#include "stack/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_memory.h>

#define ZC__RXD 512u
#define ZC__TXD 512u
#define ZC__PEND 512u       /* converted packets the port has not taken yet */
#define ZC__TX_MBUFS 8192u
#define ZC__COPY_MAX 128u   /* packets this short are copied whole */

/* EAL can start once per process; this is the one piece of state outside a
 * netif (dpdk.h). */
static int zc__eal_state; /* 0 not tried, 1 up, -errno failed */

struct zc__dpdk {
	struct zc_netif nif;
	uint16_t port;
	char devname[40];
	struct rte_mempool *mp_rx, *mp_tx;
	uint8_t *ext_base;       /* registered with rte_extmem_register */
	size_t ext_len;
	uint32_t hdr;
	struct rte_mbuf *pend[ZC__PEND];
	uint32_t npend;
	uint64_t retry_at; /* the port took none of pend: try again then (0: at once) */
	/* receive interrupt (rte_eth_dev_rx_intr_*), where the port has one:
	 * its eventfd, whether it is enabled, and the packets the re-check
	 * after arming took, handed out by the next receive burst */
	int irq_fd;
	bool irq_on, irq_conf; /* irq_conf: configured with one; its fd comes with the link */
	bool count_ok;         /* rte_eth_rx_queue_count works on this port */
	bool rx_csum;          /* the port gives checksum verdicts (RTE_MBUF_F_RX_*_CKSUM_*) */
	bool tx_csum;          /* the port fills TCP and UDP checksums (caps.tx_csum) */
	uint32_t ready_calls;
	uint64_t ready_at;
	struct rte_mbuf *stash[64];
	uint16_t nstash, stash_at;
	struct zc_netif_stats st;
	struct zc_dpdk_stats ds;
};

static const struct zc_netif_ops zc__dpdk_ops;

/* ZCS_DPDK_CSUM=0 keeps checksums in the stack (to compare) */
static bool zc__env_off(const char *name)
{
	const char *v = getenv(name);
	return v && strcmp(v, "0") == 0;
}

static int zc__eal_init(void)
{
	if (zc__eal_state)
		return zc__eal_state > 0 ? 0 : zc__eal_state;
	cpu_set_t saved;
	CPU_ZERO(&saved);
	sched_getaffinity(0, sizeof(saved), &saved);
	int first = 0;
	while (first < CPU_SETSIZE && !CPU_ISSET(first, &saved))
		first++;
	char mem[16], prefix[48], lcore[16];
	const char *m = getenv("ZCS_DPDK_MEM");
	snprintf(mem, sizeof(mem), "%s", m && *m ? m : "128");
	snprintf(prefix, sizeof(prefix), "--file-prefix=zcstack%d", (int)getpid());
	snprintf(lcore, sizeof(lcore), "%d", first);
	char *argv[64] = { "zcstack", "-l", lcore, "-m", mem, "--no-pci", "--no-shconf", "--iova-mode=va",
			   prefix, "--log-level=*:critical", "--no-telemetry" };
	int argc = 11;
	const char *huge = getenv("ZCS_DPDK_HUGE");
	if (!(huge && strcmp(huge, "1") == 0))
		argv[argc++] = "--no-huge";
	char *extra = NULL;
	const char *ea = getenv("ZCS_DPDK_ARGS");
	if (ea && *ea) {
		extra = strdup(ea);
		char *save = NULL;
		for (char *t = strtok_r(extra, " ", &save); t && argc < 63; t = strtok_r(NULL, " ", &save))
			argv[argc++] = t;
	}
	argv[argc] = NULL;
	int r = rte_eal_init(argc, argv);
	int e = rte_errno;
	sched_setaffinity(0, sizeof(saved), &saved); /* EAL pinned us to one core */
	free(extra);
	if (r < 0) {
		ZC_ERR("nic: dpdk: EAL did not start: %s (ZCS_DPDK_ARGS, ZCS_DPDK_MEM)", rte_strerror(e));
		zc__eal_state = -(e ? e : EINVAL);
		return zc__eal_state;
	}
	zc__eal_state = 1;
	return 0;
}

/* --- receive ------------------------------------------------------------------ */

static void zc__rx_free(void *addr, void *arg)
{
	(void)addr;
	rte_pktmbuf_free((struct rte_mbuf *)arg);
}

/* Header bytes: Ethernet, then IPv4 + TCP/UDP/ICMP when they parse; at
 * most ZC__COPY_MAX and the packet's length. */
static uint32_t zc__hdr_len(const uint8_t *p, uint32_t len)
{
	uint32_t h = 14;
	if (len >= 34 && p[12] == 0x08 && p[13] == 0x00 && (p[14] >> 4) == 4) {
		uint32_t ihl = (uint32_t)(p[14] & 15) * 4;
		uint8_t proto = p[23];
		if (ihl >= 20 && 14 + ihl <= len) {
			h = 14 + ihl;
			if (proto == 6 && h + 20 <= len)
				h += (uint32_t)(p[h + 12] >> 4) * 4;
			else if ((proto == 17 || proto == 1) && h + 8 <= len)
				h += 8;
		}
	}
	if (h > len)
		h = len;
	return h > ZC__COPY_MAX ? ZC__COPY_MAX : h;
}

/* A whole packet copied: inline when short, else into pool frames. */
static struct zc_mbuf *zc__copy_in(struct zc__dpdk *d, struct rte_mbuf *r)
{
	struct zc_pool *pool = d->nif.pool;
	struct zc_mbuf *h = zc_mbuf_alloc(pool);
	if (h == NULL)
		return NULL;
	uint32_t fs = zc_pool_frame_size(pool);
	struct zc_mbuf *cur = h;
	uint32_t room = ZC__COPY_MAX;
	for (struct rte_mbuf *s = r; s; s = s->next) {
		const uint8_t *src = rte_pktmbuf_mtod(s, const uint8_t *);
		uint32_t left = s->data_len;
		while (left) {
			if (room == 0) {
				cur = zc_mbuf_alloc_frame(pool);
				if (cur == NULL) {
					zc_mbuf_free(h);
					return NULL;
				}
				zc_mbuf_cat(h, cur);
				room = fs;
			}
			uint32_t k = left < room ? left : room;
			memcpy(cur->data + cur->len, src, k);
			cur->len += k;
			h->pkt_len += k;
			src += k;
			left -= k;
			room -= k;
		}
	}
	return h;
}

/* The port's checksum verdicts, where it was asked for them (dpdk.h). */
static uint32_t zc__rx_flags(const struct zc__dpdk *d, const struct rte_mbuf *r)
{
	uint32_t f = 0;
	if (!d->rx_csum)
		return 0;
	if ((r->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD)
		f |= ZC_MBUF_F_L3_CSUM_OK;
	if ((r->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
		f |= ZC_MBUF_F_L4_CSUM_OK;
	return f;
}

/* One DPDK segment's bytes from off on, as an external segment that
 * frees that segment alone. NULL (s untouched) when out of mbufs. */
static struct zc_mbuf *zc__ext_seg(struct zc__dpdk *d, struct rte_mbuf *s, uint32_t off)
{
	struct zc_ext_shinfo *sh = rte_mbuf_to_priv(s);
	sh->free_cb = zc__rx_free;
	sh->arg = s;
	sh->refcnt = 0;
	uint32_t n = s->data_len - off;
	struct zc_mbuf *z = zc_mbuf_attach_ext(d->nif.pool, rte_pktmbuf_mtod(s, uint8_t *) + off, n, sh);
	if (z) {
		z->len = n;
		z->pkt_len = n;
	}
	return z;
}

/* The headers are copied into an inline head; the payload stays where the
 * port put it, one external segment per DPDK segment (a jumbo frame over
 * memif comes as a chain of receive buffers). */
static struct zc_mbuf *zc__from_rte(struct zc__dpdk *d, struct rte_mbuf *r)
{
	struct zc_pool *pool = d->nif.pool;
	uint32_t len = r->pkt_len;
	d->st.rx_packets++;
	d->st.rx_bytes += len;
	uint8_t *p = rte_pktmbuf_mtod(r, uint8_t *);
	uint32_t hl = len <= ZC__COPY_MAX ? len : zc__hdr_len(p, r->data_len);
	if (len <= ZC__COPY_MAX || (r->nb_segs > 1 && hl == r->data_len)) {
		struct zc_mbuf *h = zc__copy_in(d, r);
		if (h)
			h->flags |= zc__rx_flags(d, r);
		rte_pktmbuf_free(r);
		d->ds.rx_copied++;
		return h;
	}
	if ((((uintptr_t)(p + hl)) & (zc_pool_frame_size(pool) - 1)) == 0)
		d->ds.align_hits++;
	else
		d->ds.align_misses++;
	if (r->nb_segs > 1)
		d->ds.rx_chained++;
	struct zc_mbuf *h = zc_mbuf_alloc(pool);
	if (h == NULL) {
		rte_pktmbuf_free(r);
		return NULL;
	}
	h->flags |= zc__rx_flags(d, r);
	memcpy(zc_mbuf_append(h, hl), p, hl);
	uint32_t off = hl;
	for (struct rte_mbuf *s = r, *next; s; s = next, off = 0) {
		next = s->next;
		s->next = NULL; /* each segment is freed on its own from here */
		s->nb_segs = 1;
		s->pkt_len = s->data_len;
		struct zc_mbuf *z = s->data_len > off ? zc__ext_seg(d, s, off) : NULL;
		if (z == NULL) {
			bool short_of_mbufs = s->data_len > off;
			rte_pktmbuf_free_seg(s);
			if (short_of_mbufs) {
				rte_pktmbuf_free(next);
				zc_mbuf_free(h);
				return NULL;
			}
			continue;
		}
		zc_mbuf_cat(h, z);
	}
	return h;
}

static int zc__dpdk_rx(struct zc_netif *nif, struct zc_mbuf **pkts, int n, uint64_t now)
{
	struct zc__dpdk *d = (struct zc__dpdk *)nif;
	(void)now;
	struct rte_mbuf *r[64];
	if (n > 64)
		n = 64;
	uint16_t k;
	if (d->stash_at < d->nstash) { /* taken by the re-check after arming */
		k = 0;
		while (k < n && d->stash_at < d->nstash)
			r[k++] = d->stash[d->stash_at++];
	} else {
		k = rte_eth_rx_burst(d->port, 0, r, (uint16_t)n);
	}
	int got = 0;
	for (uint16_t i = 0; i < k; i++) {
		struct zc_mbuf *m = zc__from_rte(d, r[i]);
		if (m)
			pkts[got++] = m;
		else
			d->st.rx_dropped++;
	}
	return got;
}

/* --- transmit ----------------------------------------------------------------- */

static void zc__tx_free(void *addr, void *opaque)
{
	(void)addr;
	zc_mbuf_free((struct zc_mbuf *)opaque);
}

/* Builds the DPDK chain for m into *out and consumes m: 0, or -EIO (m
 * dropped). -EAGAIN (m untouched) when DPDK mbufs are short. */
static int zc__to_rte(struct zc__dpdk *d, struct zc_mbuf *m, struct rte_mbuf **out)
{
	if (rte_mempool_avail_count(d->mp_tx) < (unsigned)m->nb_segs + 1u)
		return -EAGAIN;
	struct rte_mbuf *head = rte_pktmbuf_alloc(d->mp_tx);
	if (head == NULL)
		return -EAGAIN;
	struct zc_mbuf *s = m;
	while (s) {
		struct zc_mbuf *next = s->next;
		s->next = NULL;
		s->nb_segs = 1;
		s->pkt_len = s->len;
		struct rte_mbuf *last = rte_pktmbuf_lastseg(head);
		if (s->len == 0) {
			zc_mbuf_free(s);
		} else if (s->kind == ZC_MBUF_INLINE_BUF && s->len <= rte_pktmbuf_tailroom(last)) {
			memcpy(rte_pktmbuf_append(head, (uint16_t)s->len), s->data, s->len);
			d->ds.tx_copied_bytes += s->len;
			zc_mbuf_free(s);
		} else {
			struct rte_mbuf *t = rte_pktmbuf_alloc(d->mp_tx);
			if (t == NULL || rte_pktmbuf_chain(head, t) != 0) {
				/* cannot happen after the count above; drop what is left */
				rte_pktmbuf_free(t);
				zc_mbuf_free(s);
				zc_mbuf_free(next);
				rte_pktmbuf_free(head);
				d->st.tx_dropped++;
				return -EIO;
			}
			if (s->kind == ZC_MBUF_INLINE_BUF) {
				memcpy(rte_pktmbuf_append(head, (uint16_t)s->len), s->data, s->len);
				d->ds.tx_copied_bytes += s->len;
				zc_mbuf_free(s);
			} else {
				struct rte_mbuf_ext_shared_info *sh = rte_mbuf_to_priv(t);
				sh->free_cb = zc__tx_free;
				sh->fcb_opaque = s;
				rte_mbuf_ext_refcnt_set(sh, 1);
				rte_pktmbuf_attach_extbuf(t, s->data, (rte_iova_t)(uintptr_t)s->data,
							  (uint16_t)s->len, sh);
				t->data_len = (uint16_t)s->len;
				head->pkt_len += s->len;
				d->ds.tx_attached++;
			}
		}
		s = next;
	}
	*out = head;
	return 0;
}

/* Hand the converted packets to the port. One that takes none (memif
 * before its peer connects, a full ring) is tried again in 1 ms, not at
 * once: a packet due "now" for ever kept a waiter driving the stack with
 * its lock held. */
#define ZC__RETRY_NS 1000000u
static void zc__drain(struct zc__dpdk *d, uint64_t now)
{
	if (d->npend == 0)
		return;
	uint16_t k = rte_eth_tx_burst(d->port, 0, d->pend, (uint16_t)d->npend);
	if (k < d->npend)
		memmove(d->pend, d->pend + k, (d->npend - k) * sizeof(d->pend[0]));
	d->npend -= k;
	d->retry_at = k == 0 && d->npend ? now + ZC__RETRY_NS : 0;
}

/* A packet whose TCP or UDP checksum the stack left to the NIC (the
 * pseudo-header sum in the field, as DPDK wants it): the port's offload
 * flags, with where the headers are in *pk; 0 when there is nothing to
 * offload. Where the port cannot
 * fill it (an odd-length piece before the last: net_tap sums each piece
 * on its own), the sum is finished here. */
static uint64_t zc__tx_csum(struct zc__dpdk *d, struct zc_mbuf *m, struct zc_hdr_peek *hp)
{
	if (!(m->flags & ZC_MBUF_F_TX_L4_CSUM))
		return 0;
	m->flags &= ~ZC_MBUF_F_TX_L4_CSUM;
	struct zc_hdr_peek pk;
	if (!zc_hdr_peek(m->data, m->len, &pk) || pk.csum_off == 0 || pk.hdr_len > m->len)
		return 0; /* not one of ours: the stack only marks what it built */
	bool even = true;
	for (const struct zc_mbuf *s = m->next; s && s->next; s = s->next)
		even &= (s->len & 1) == 0;
	if (d->tx_csum && even && (m->len & 1) == 0) {
		d->ds.tx_csum++;
		*hp = pk;
		return RTE_MBUF_F_TX_IPV4 | (pk.proto == 6 ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM);
	}
	zc_l4_csum_finish(m->data, m->len, &pk, zc_csum_mbuf(0, m, m->len, m->pkt_len - m->len));
	d->ds.tx_csum_sw++;
	return 0;
}

static int zc__dpdk_tx(struct zc_netif *nif, struct zc_mbuf **pkts, int n, uint64_t now)
{
	struct zc__dpdk *d = (struct zc__dpdk *)nif;
	zc__drain(d, now);
	int k = 0;
	while (k < n && d->npend < ZC__PEND) {
		struct zc_mbuf *m = pkts[k];
		uint32_t len = m->pkt_len;
		if (len > nif->caps.mtu + 14u || m->nb_segs > 64) {
			zc_mbuf_free(m);
			d->st.tx_dropped++;
			k++;
			continue;
		}
		struct zc_hdr_peek pk = { 0 };
		uint64_t ol = zc__tx_csum(d, m, &pk);
		struct rte_mbuf *r;
		int e = zc__to_rte(d, m, &r);
		if (e == 0 && ol) {
			r->ol_flags |= ol;
			r->l2_len = ZC_ETH_HLEN;
			r->l3_len = pk.l4 - ZC_ETH_HLEN;
			r->l4_len = pk.hdr_len - pk.l4;
		}
		if (e == -EAGAIN)
			break;
		k++;
		if (e)
			continue;
		d->pend[d->npend++] = r;
		d->st.tx_packets++;
		d->st.tx_bytes += len;
	}
	if (k < n)
		d->st.tx_busy++;
	zc__drain(d, now);
	return k;
}

static void zc__dpdk_flush(struct zc_netif *nif, uint64_t now)
{
	zc__drain((struct zc__dpdk *)nif, now);
}

static uint64_t zc__dpdk_next_due(struct zc_netif *nif)
{
	struct zc__dpdk *d = (struct zc__dpdk *)nif;
	return d->npend ? d->retry_at : UINT64_MAX;
}

/* Receive interrupts where the port has them (net_memif, net_tap): the
 * queue's eventfd, enabled only while a waiter sleeps (rx_intr_enable lets
 * the peer signal, disable stops it: memif's peer then writes no eventfd
 * at all). Elsewhere callers poll, with short naps when idle. */
static int zc__dpdk_irq_fd(struct zc_netif *nif)
{
	struct zc__dpdk *d = (struct zc__dpdk *)nif;
	if (d->irq_fd < 0 && d->irq_conf) {
		/* memif makes the queue's eventfd when its peer connects */
		int fd = rte_eth_dev_rx_intr_ctl_q_get_fd(d->port, 0);
		if (fd >= 0 && rte_eth_dev_rx_intr_disable(d->port, 0) == 0) {
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); /* drained by reads */
			d->irq_fd = fd;
			d->irq_on = false;
		}
	}
	return d->irq_fd;
}

/* A spinning waiter's look without the lock: the queue's count where the
 * port has one; else "maybe" every 20 us, so that a waiter that spins
 * lets go of the stack's lock between looks (one that found the NIC
 * always "maybe" took it back at once, and zcstat starved). */
static bool zc__dpdk_rx_ready(struct zc_netif *nif)
{
	struct zc__dpdk *d = (struct zc__dpdk *)nif;
	if (__atomic_load_n(&d->nstash, __ATOMIC_RELAXED) != __atomic_load_n(&d->stash_at, __ATOMIC_RELAXED))
		return true;
	if (d->count_ok)
		return rte_eth_rx_queue_count(d->port, 0) > 0;
	if ((++d->ready_calls & 15) != 0)
		return false;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (now - d->ready_at < 20000)
		return false;
	d->ready_at = now;
	return true;
}

static void zc__dpdk_irq_drain(struct zc_netif *nif)
{
	struct zc__dpdk *d = (struct zc__dpdk *)nif;
	uint64_t v;
	if (d->irq_fd >= 0)
		while (read(d->irq_fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
			;
}

/* Arm, then look once more: a packet that came before the enable raised
 * nothing. Such packets wait in the stash for the next burst, and the
 * caller does not sleep (nonzero). */
static int zc__dpdk_irq_arm(struct zc_netif *nif)
{
	struct zc__dpdk *d = (struct zc__dpdk *)nif;
	if (d->irq_fd < 0)
		return -EOPNOTSUPP;
	if (d->stash_at < d->nstash)
		return -EAGAIN;
	if (!d->irq_on && rte_eth_dev_rx_intr_enable(d->port, 0) == 0)
		d->irq_on = true;
	d->stash_at = 0;
	d->nstash = rte_eth_rx_burst(d->port, 0, d->stash, 64);
	return d->nstash ? -EAGAIN : 0;
}

static void zc__dpdk_irq_ack(struct zc_netif *nif)
{
	struct zc__dpdk *d = (struct zc__dpdk *)nif;
	if (d->irq_on && rte_eth_dev_rx_intr_disable(d->port, 0) == 0)
		d->irq_on = false;
	zc__dpdk_irq_drain(nif);
}

static void zc__dpdk_get_stats(struct zc_netif *nif, struct zc_netif_stats *st)
{
	*st = ((struct zc__dpdk *)nif)->st;
}

static void zc__dpdk_close(struct zc_netif *nif)
{
	struct zc__dpdk *d = (struct zc__dpdk *)nif;
	for (uint32_t i = 0; i < d->npend; i++)
		rte_pktmbuf_free(d->pend[i]);
	d->npend = 0;
	while (d->stash_at < d->nstash)
		rte_pktmbuf_free(d->stash[d->stash_at++]);
	rte_eth_dev_stop(d->port);
	rte_eth_dev_close(d->port);
	rte_eal_hotplug_remove("vdev", d->devname);
	rte_mempool_free(d->mp_rx);
	rte_mempool_free(d->mp_tx);
	if (d->ext_base)
		rte_extmem_unregister(d->ext_base, d->ext_len);
	zc_pool_destroy(nif->pool);
	free(d);
}

static const struct zc_netif_ops zc__dpdk_ops = {
	.rx_burst = zc__dpdk_rx,
	.tx_burst = zc__dpdk_tx,
	.flush = zc__dpdk_flush,
	.next_due = zc__dpdk_next_due,
	.rx_ready = zc__dpdk_rx_ready,
	.irq_fd = zc__dpdk_irq_fd,
	.irq_arm = zc__dpdk_irq_arm,
	.irq_ack = zc__dpdk_irq_ack,
	.irq_drain = zc__dpdk_irq_drain,
	.get_stats = zc__dpdk_get_stats,
	.close = zc__dpdk_close,
};

int zc_dpdk_get_stats(struct zc_netif *nif, struct zc_dpdk_stats *st)
{
	while (nif && nif->ops != &zc__dpdk_ops)
		nif = nif->lower;
	if (nif == NULL)
		return -EINVAL;
	struct zc__dpdk *d = (struct zc__dpdk *)nif;
	*st = d->ds;
	struct rte_eth_link link;
	if (rte_eth_link_get_nowait(d->port, &link) == 0)
		st->link_up = link.link_status == RTE_ETH_LINK_UP;
	return 0;
}

/* --- open --------------------------------------------------------------------- */

static int zc__fail(struct zc__dpdk *d, int err, const char *what, int r)
{
	ZC_ERR("nic: dpdk: %s: %s failed: %s", d->devname, what, rte_strerror(r < 0 ? -r : r));
	return err;
}

struct zc_netif *zc_dpdk_open(const struct zc_dpdk_config *cfg)
{
	if (cfg == NULL || cfg->devargs == NULL || *cfg->devargs == '\0') {
		ZC_ERR("nic: dpdk: no device string (e.g. dpdk:net_tap0,iface=zc0)");
		errno = EINVAL;
		return NULL;
	}
	int r = zc__eal_init();
	if (r) {
		errno = -r;
		return NULL;
	}
	struct zc__dpdk *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	snprintf(d->devname, sizeof(d->devname), "%.*s", (int)strcspn(cfg->devargs, ","), cfg->devargs);
	d->hdr = cfg->hdr ? cfg->hdr : 66;
	bool probed = false, configured = false;
	int err = EIO;
	if (d->hdr < 14 || d->hdr > 1024) {
		ZC_ERR("nic: dpdk: hdr=%u: expected 14..1024 bytes", d->hdr);
		err = EINVAL;
		goto fail;
	}
	uint16_t port;
	if (rte_eth_dev_get_port_by_name(d->devname, &port) == 0) {
		ZC_ERR("nic: dpdk: %s is already open in this process", d->devname);
		err = EBUSY;
		goto fail;
	}
	/* memif over its port's 1500: each frame in one memif buffer. Frames
	 * chained over several (its 2048-byte default) were merged or lost
	 * under load in DPDK 22.11 (our receive counted eth_oversize drops and
	 * the connection stalled within seconds; docs/design.md). */
	char args[512];
	const char *devargs = cfg->devargs;
	bool memif = strncmp(d->devname, "net_memif", 9) == 0;
	if (memif && cfg->mtu > 1500) {
		uint32_t need = (uint32_t)cfg->mtu + 14, b = 2048;
		while (b < need && b < 32768)
			b <<= 1;
		if (b < need)
			b = 65535;
		if (need > b) {
			ZC_ERR("nic: dpdk: %s: zc_mtu=%u: a memif buffer holds at most a %u-byte MTU", d->devname,
			       cfg->mtu, 65535 - 14);
			err = EINVAL;
			goto fail;
		}
		const char *given = strstr(cfg->devargs, "bsize=");
		unsigned long gb = given ? strtoul(given + 6, NULL, 0) : 0;
		if (given == NULL) {
			snprintf(args, sizeof(args), "%s,bsize=%u", cfg->devargs, b);
			devargs = args;
		} else if (gb < need) {
			ZC_ERR("nic: dpdk: %s: bsize=%lu is shorter than a %u-byte frame (zc_mtu=%u): memif "
			       "frames chained over several buffers are lost in this DPDK; leave bsize out or make it %u",
			       d->devname, gb, need, cfg->mtu, b);
			err = EINVAL;
			goto fail;
		}
	}
	r = rte_dev_probe(devargs);
	if (r < 0) {
		const char *hint = "not a DPDK virtual device this build links: net_tap, net_memif, "
				   "net_ring, net_pcap, net_af_packet (e.g. net_tap0,iface=zc0)";
		if (strncmp(d->devname, "net_tap", 7) == 0)
			hint = "net_tap needs /dev/net/tun, CAP_NET_ADMIN and a free interface name";
		else if (strncmp(d->devname, "net_memif", 9) == 0)
			hint = "is the memif socket already in use, or its directory missing?";
		else if (strncmp(d->devname, "net_pcap", 8) == 0)
			hint = "can the rx_pcap file be read and the tx_pcap file be written?";
		else if (strncmp(d->devname, "net_af_packet", 13) == 0)
			hint = "net_af_packet needs iface=NAME of an existing interface and CAP_NET_RAW";
		ZC_ERR("nic: dpdk: cannot create '%s': %s (DPDK: %s; ZCS_DPDK_ARGS=--log-level=*:debug "
		       "shows its own messages)",
		       cfg->devargs, hint, rte_strerror(-r));
		err = -r == ENOENT || -r == EINVAL ? EINVAL : (r < 0 ? -r : EIO);
		goto fail;
	}
	probed = true;
	if (rte_eth_dev_get_port_by_name(d->devname, &port) != 0) {
		ZC_ERR("nic: dpdk: '%s' made no ethdev port", cfg->devargs);
		err = EINVAL;
		goto fail;
	}
	d->port = port;

	/* pool: the stack's frames, then the DPDK receive buffers */
	uint32_t nframes = cfg->nframes ? cfg->nframes : 4096;
	uint32_t nrx = cfg->rx_bufs ? cfg->rx_bufs : 8192; /* > a 4 MiB window of 1448-byte segments */
	struct zc_pool_config pc = { .name = d->devname, .nframes = nframes + nrx + 1, .fd = -1,
				     .own_first = 0, .own_count = nframes };
	d->nif.pool = zc_pool_create(&pc);
	if (d->nif.pool == NULL) {
		err = errno;
		goto fail;
	}
	uint32_t fs = zc_pool_frame_size(d->nif.pool);
	d->ext_base = zc_pool_frame_addr(d->nif.pool, 0);
	d->ext_len = (size_t)(nframes + nrx + 1) * fs;
	r = rte_extmem_register(d->ext_base, d->ext_len, NULL, 0, fs);
	if (r < 0) {
		d->ext_base = NULL;
		err = zc__fail(d, EIO, "rte_extmem_register", rte_errno);
		goto fail;
	}
	if (d->hdr + RTE_PKTMBUF_HEADROOM >= fs) {
		ZC_ERR("nic: dpdk: hdr=%u does not fit a %u-byte buffer", d->hdr, fs);
		err = EINVAL;
		goto fail;
	}
	uint8_t *rx0 = zc_pool_frame_addr(d->nif.pool, nframes);
	struct rte_pktmbuf_extmem ext = {
		.buf_ptr = rx0 + fs - RTE_PKTMBUF_HEADROOM - d->hdr,
		.buf_iova = (rte_iova_t)(uintptr_t)(rx0 + fs - RTE_PKTMBUF_HEADROOM - d->hdr),
		.buf_len = (size_t)nrx * fs,
		.elt_size = (uint16_t)fs,
	};
	char name[RTE_MEMPOOL_NAMESIZE];
	snprintf(name, sizeof(name), "zcrx%u", port);
	d->mp_rx = rte_pktmbuf_pool_create_extbuf(name, nrx, 0,
						  RTE_ALIGN(sizeof(struct zc_ext_shinfo), RTE_MBUF_PRIV_ALIGN),
						  (uint16_t)fs, SOCKET_ID_ANY, &ext, 1);
	snprintf(name, sizeof(name), "zctx%u", port);
	d->mp_tx = rte_pktmbuf_pool_create(
		name, ZC__TX_MBUFS, 64,
		RTE_ALIGN(sizeof(struct rte_mbuf_ext_shared_info), RTE_MBUF_PRIV_ALIGN),
		RTE_PKTMBUF_HEADROOM + 256, SOCKET_ID_ANY);
	if (d->mp_rx == NULL || d->mp_tx == NULL) {
		err = zc__fail(d, ENOMEM, "mempool creation (ZCS_DPDK_MEM raises EAL memory)", rte_errno);
		goto fail;
	}

	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	conf.rxmode.mtu = cfg->mtu; /* 0: the port's default */
	struct rte_eth_dev_info info;
	conf.intr_conf.rxq = 1; /* a receive interrupt, where the port has one */
	if ((r = rte_eth_dev_info_get(port, &info)) != 0) {
		err = zc__fail(d, EIO, "dev_info_get", r);
		goto fail;
	}
	/* checksums, where the port offers them (net_tap does them in software,
	 * memif not at all); frames longer than one receive buffer come as a
	 * chain where the port can scatter (memif chains without asking) */
	const uint64_t rx_sums = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM |
				 RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
	const uint64_t tx_sums = RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	if ((info.rx_offload_capa & rx_sums) == rx_sums && !zc__env_off("ZCS_DPDK_CSUM"))
		conf.rxmode.offloads |= rx_sums;
	if ((info.tx_offload_capa & tx_sums) == tx_sums && !zc__env_off("ZCS_DPDK_CSUM"))
		conf.txmode.offloads |= tx_sums;
	if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER)
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	/* memif (22.11) says 1518-byte frames, yet moves frames of any length,
	 * chained over its buffers: a larger MTU is a contract between the two
	 * ends, and the port keeps its own */
	uint32_t port_max = info.max_rx_pktlen > 18 ? info.max_rx_pktlen - 18 : 0; /* Ethernet + CRC */
	if (port_max > info.max_mtu)
		port_max = info.max_mtu;
	bool beyond = cfg->mtu > port_max && memif;
	if (beyond)
		conf.rxmode.mtu = 0;
	else if (cfg->mtu && (cfg->mtu > port_max || cfg->mtu < info.min_mtu)) {
		ZC_ERR("nic: dpdk: %s: zc_mtu=%u: the port takes %u..%u", d->devname, cfg->mtu, info.min_mtu,
		       port_max);
		err = EINVAL;
		goto fail;
	}
	d->rx_csum = (conf.rxmode.offloads & rx_sums) != 0;
	d->tx_csum = (conf.txmode.offloads & tx_sums) != 0;
	if (((r = rte_eth_dev_configure(port, 1, 1, &conf)) != 0 &&
	     (conf.intr_conf.rxq = 0, r = rte_eth_dev_configure(port, 1, 1, &conf)) != 0)) {
		err = zc__fail(d, EIO, "configure", r);
		goto fail;
	}
	configured = true;
	uint16_t mtu = 1500;
	rte_eth_dev_get_mtu(port, &mtu);
	if (beyond)
		mtu = cfg->mtu;
	else if (cfg->mtu && mtu != cfg->mtu) {
		ZC_ERR("nic: dpdk: %s: the port kept MTU %u instead of %u", d->devname, mtu, cfg->mtu);
		err = EINVAL;
		goto fail;
	}
	bool chains = (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_SCATTER) || memif;
	if ((uint32_t)mtu + 14 > fs - RTE_PKTMBUF_HEADROOM - d->hdr && !chains) {
		ZC_ERR("nic: dpdk: %s: mtu %u does not fit one %u-byte receive buffer, and the port cannot "
		       "chain buffers (no RTE_ETH_RX_OFFLOAD_SCATTER)",
		       d->devname, mtu, fs);
		err = EINVAL;
		goto fail;
	}
	uint16_t nrxd = ZC__RXD, ntxd = ZC__TXD;
	rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrxd, &ntxd);
	if ((r = rte_eth_rx_queue_setup(port, 0, nrxd, SOCKET_ID_ANY, NULL, d->mp_rx)) != 0 ||
	    (r = rte_eth_tx_queue_setup(port, 0, ntxd, SOCKET_ID_ANY, NULL)) != 0) {
		err = zc__fail(d, EIO, "queue setup", r);
		goto fail;
	}
	if ((r = rte_eth_dev_start(port)) != 0) {
		err = zc__fail(d, EIO, "start", r);
		goto fail;
	}
	rte_eth_promiscuous_enable(port); /* our MAC differs from the port's (tap shares its MAC) */
	d->irq_fd = -1;
	d->irq_conf = conf.intr_conf.rxq;
	zc__dpdk_irq_fd(&d->nif);
	d->count_ok = rte_eth_rx_queue_count(port, 0) >= 0;

	d->nif.ops = &zc__dpdk_ops;
	d->nif.caps = (struct zc_netif_caps){ .mtu = mtu, .max_hdr = d->hdr, .page_size = fs,
					      .rx_csum = d->rx_csum, .tx_csum = d->tx_csum };
	if (cfg->mac) {
		memcpy(d->nif.mac, cfg->mac, 6);
	} else {
		pid_t pid = getpid();
		uint8_t mac[6] = { 0x02, 0x7a, 0x63, (uint8_t)(0x10 + port), (uint8_t)(pid >> 8), (uint8_t)pid };
		memcpy(d->nif.mac, mac, 6);
	}
	snprintf(d->nif.name, sizeof(d->nif.name), "dpdk:%s", d->devname);
	ZC_INFO("nic: dpdk: %s port %u mtu %u, %u receive buffers aligned for %u-byte headers, "
		"checksums %s, %s",
		d->devname, port, mtu, nrx, d->hdr,
		d->rx_csum && d->tx_csum ? "offloaded" : d->rx_csum ? "verified by the port" : "in the stack",
		d->irq_fd >= 0 ? "receive interrupt"
		: d->irq_conf ? "receive interrupt once the link is up"
			      : "no receive interrupt (callers poll)");
	return &d->nif;

fail:
	if (configured)
		rte_eth_dev_close(d->port);
	if (probed)
		rte_eal_hotplug_remove("vdev", d->devname);
	if (d->mp_rx)
		rte_mempool_free(d->mp_rx);
	if (d->mp_tx)
		rte_mempool_free(d->mp_tx);
	if (d->ext_base)
		rte_extmem_unregister(d->ext_base, d->ext_len);
	if (d->nif.pool)
		zc_pool_destroy(d->nif.pool);
	free(d);
	errno = err;
	return NULL;
}
