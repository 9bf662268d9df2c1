/*
 * capture.c - pcap capture middleware (see capture.h).
 *
 * On transmit the frames are first joined into a scratch buffer, then passed
 * down, and only those the lower layer accepted are written: a frame offered
 * again after a busy ring is recorded once. Timestamps are the caller's clock
 * plus the offset between CLOCK_REALTIME and CLOCK_MONOTONIC at open, so a
 * capture from a real-time run shows wall-clock times.
 */
#include "nic/capture.h"
#include "stack/log.h"
#include "stack/pool.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ZC__SNAPLEN 262144u
#define ZC__BATCH 32

struct zc__capture {
	struct zc_netif nif;
	pcap_t *dead;
	pcap_dumper_t *dumper;
	int64_t epoch_off;
	uint8_t *scratch;       /* ZC__BATCH frames of up to ZC__SNAPLEN bytes */
	uint32_t lens[ZC__BATCH];
	struct zc_capture_stats st;
};

static struct zc__capture *zc__c(struct zc_netif *n) { return (struct zc__capture *)n; }

static void zc__dump(struct zc__capture *c, const uint8_t *frame, uint32_t caplen, uint32_t len,
		     uint64_t now)
{
	struct pcap_pkthdr h;
	uint64_t t = (uint64_t)((int64_t)now + c->epoch_off);
	h.ts.tv_sec = (time_t)(t / 1000000000u);
	h.ts.tv_usec = (suseconds_t)(t % 1000000000u); /* nanoseconds: the dumper is nano */
	h.caplen = caplen;
	h.len = len;
	pcap_dump((u_char *)c->dumper, &h, frame);
	c->st.frames++;
	c->st.bytes += caplen;
}

static uint32_t zc__join(struct zc__capture *c, int slot, const struct zc_mbuf *m)
{
	uint32_t len = m->pkt_len < ZC__SNAPLEN ? m->pkt_len : ZC__SNAPLEN;
	return zc_mbuf_copydata(m, 0, len, c->scratch + (size_t)slot * ZC__SNAPLEN);
}

static int zc__c_tx(struct zc_netif *nif, struct zc_mbuf **pkts, int n, uint64_t now)
{
	struct zc__capture *c = zc__c(nif);
	int done = 0;
	while (done < n) {
		int k = n - done < ZC__BATCH ? n - done : ZC__BATCH;
		uint32_t full[ZC__BATCH];
		for (int i = 0; i < k; i++) {
			c->lens[i] = zc__join(c, i, pkts[done + i]);
			full[i] = pkts[done + i]->pkt_len;
		}
		int sent = zc_netif_tx(nif->lower, pkts + done, k, now);
		for (int i = 0; i < sent; i++)
			zc__dump(c, c->scratch + (size_t)i * ZC__SNAPLEN, c->lens[i], full[i], now);
		done += sent;
		if (sent < k)
			break;
	}
	return done;
}

static int zc__c_rx(struct zc_netif *nif, struct zc_mbuf **pkts, int n, uint64_t now)
{
	struct zc__capture *c = zc__c(nif);
	int got = zc_netif_rx(nif->lower, pkts, n, now);
	for (int i = 0; i < got; i++) {
		uint32_t l = zc__join(c, 0, pkts[i]);
		zc__dump(c, c->scratch, l, pkts[i]->pkt_len, now);
	}
	return got;
}

static void zc__c_flush(struct zc_netif *nif, uint64_t now) { zc_netif_flush(nif->lower, now); }
static uint64_t zc__c_next_due(struct zc_netif *nif) { return zc_netif_next_due(nif->lower); }
static int zc__c_irq_fd(struct zc_netif *nif) { return nif->lower->ops->irq_fd(nif->lower); }
static int zc__c_irq_arm(struct zc_netif *nif) { return nif->lower->ops->irq_arm(nif->lower); }
static void zc__c_irq_ack(struct zc_netif *nif) { nif->lower->ops->irq_ack(nif->lower); }
static void zc__c_stats(struct zc_netif *nif, struct zc_netif_stats *st)
{
	nif->lower->ops->get_stats(nif->lower, st);
}

void zc_capture_get_stats(struct zc_netif *nif, struct zc_capture_stats *st)
{
	*st = zc__c(nif)->st;
}

static void zc__c_close(struct zc_netif *nif)
{
	struct zc__capture *c = zc__c(nif);
	pcap_dump_close(c->dumper);
	pcap_close(c->dead);
	free(c->scratch);
	zc_netif_close(nif->lower);
	free(c);
}

static const struct zc_netif_ops zc__capture_ops = {
	.rx_burst = zc__c_rx,
	.tx_burst = zc__c_tx,
	.flush = zc__c_flush,
	.next_due = zc__c_next_due,
	.irq_fd = zc__c_irq_fd,
	.irq_arm = zc__c_irq_arm,
	.irq_ack = zc__c_irq_ack,
	.get_stats = zc__c_stats,
	.close = zc__c_close,
};

struct zc_netif *zc_capture_wrap(struct zc_netif *lower, const char *path)
{
	char file[512];
	size_t o = 0;
	for (const char *p = path; *p && o + 16 < sizeof(file); p++) {
		if (p[0] == '%' && p[1] == 'p') {
			o += (size_t)snprintf(file + o, sizeof(file) - o, "%d", (int)getpid());
			p++;
		} else {
			file[o++] = *p;
		}
	}
	file[o] = '\0';
	struct zc__capture *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->scratch = malloc((size_t)ZC__BATCH * ZC__SNAPLEN);
	c->dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, ZC__SNAPLEN, PCAP_TSTAMP_PRECISION_NANO);
	if (c->scratch == NULL || c->dead == NULL)
		goto fail;
	c->dumper = pcap_dump_open(c->dead, file);
	if (c->dumper == NULL) {
		ZC_ERR("capture: cannot write %s: %s", file, pcap_geterr(c->dead));
		errno = EIO;
		goto fail;
	}
	struct timespec rt, mono;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	c->epoch_off = ((int64_t)rt.tv_sec - mono.tv_sec) * 1000000000 + (rt.tv_nsec - mono.tv_nsec);
	c->nif = *lower;
	/* record valid checksums: the stack computes them when capturing */
	c->nif.caps.tx_csum = false;
	c->nif.ops = &zc__capture_ops;
	c->nif.lower = lower;
	snprintf(c->nif.name, sizeof(c->nif.name), "pcap(%.40s)", lower->name);
	return &c->nif;
fail:
	if (c->dead)
		pcap_close(c->dead);
	free(c->scratch);
	free(c);
	return NULL;
}
