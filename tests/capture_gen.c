/*
 * capture_gen.c - real protocol frames over a Trapeze wire, captured by the
 * ZCS_PCAP middleware, for tshark to judge (tests/capture_check.sh).
 *
 * Port 0 is opened through zc_nic_open(), so ZCS_PCAP applies to it; port 1
 * answers. The exchange: ARP request and reply, ICMP echo and reply, UDP
 * datagrams from 0 to 61440 bytes (header-split and linear layouts), and a
 * TCP connection (SYN with MSS, SACK-permitted, timestamps and window scale,
 * data segments each acknowledged, FIN both ways). Every frame is built by our
 * wire builders with real checksums, and port 1 verifies each on receipt.
 * Prints the number of frames that crossed the wire.
 */
#include "nic/open.h"
#include "nic/trapeze.h"
#include "stack/log.h"
#include "stack/pool.h"
#include "stack/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const uint32_t IP_A = 0x0a000001, IP_B = 0x0a000002;
static int frames, failures;
static uint64_t clk = 1000;

/* Headers in an inline segment, payload in frames: Trapeze's header split.
 * linear: everything in one frame from its start. */
static struct zc_mbuf *packet(struct zc_netif *n, const uint8_t *hdr, uint32_t hlen, uint32_t plen,
			      uint8_t fillc, bool linear)
{
	struct zc_pool *pool = n->pool;
	uint32_t page = zc_pool_frame_size(pool);
	struct zc_mbuf *h;
	uint32_t done = 0;
	if (linear) {
		h = zc_mbuf_alloc_frame(pool);
		uint32_t k = plen < page - hlen ? plen : page - hlen;
		uint8_t *p = zc_mbuf_append(h, hlen + k);
		memcpy(p, hdr, hlen);
		memset(p + hlen, fillc, k);
		done = k;
	} else {
		h = zc_mbuf_alloc(pool);
		memcpy(zc_mbuf_append(h, hlen), hdr, hlen);
	}
	while (done < plen) {
		struct zc_mbuf *s = zc_mbuf_alloc_frame(pool);
		uint32_t k = plen - done < page ? plen - done : page;
		memset(zc_mbuf_append(s, k), fillc, k);
		s->pkt_len = k;
		zc_mbuf_cat(h, s);
		done += k;
	}
	return h;
}

/* IPv4 + L4 headers for a payload of plen bytes of fillc; checksum over the chain. */
static void ip_l4(struct zc_netif *n, const uint8_t dst_mac[6], uint32_t src, uint32_t dst, uint8_t proto,
		  const uint8_t *l4, uint32_t l4len, uint32_t plen, uint8_t fillc, bool linear)
{
	uint8_t hdr[128];
	struct zc_eth e = { .type = ZC_ETHERTYPE_IPV4 };
	memcpy(e.dst, dst_mac, 6);
	memcpy(e.src, n->mac, 6);
	zc_eth_build(hdr, &e);
	struct zc_ipv4 ip = { .total_len = (uint16_t)(20 + l4len + plen), .id = (uint16_t)frames, .df = true,
			      .ttl = 64, .proto = proto, .src = src, .dst = dst };
	zc_ipv4_build(hdr + 14, &ip);
	memcpy(hdr + 34, l4, l4len);
	struct zc_mbuf *m = packet(n, hdr, 34 + l4len, plen, fillc, linear);
	/* the L4 checksum covers the header and the payload in the chain */
	uint8_t *l4p = m->data + 34;
	uint32_t coff = proto == ZC_IPPROTO_TCP ? 16 : proto == ZC_IPPROTO_UDP ? 6 : 2;
	zc_put16(l4p + coff, 0);
	uint32_t sum = proto == ZC_IPPROTO_ICMP ? 0 : zc_csum_pseudo_v4(src, dst, proto, (uint16_t)(l4len + plen));
	uint16_t c = zc_csum_fold(zc_csum_mbuf(sum, m, 34, l4len + plen));
	if (proto == ZC_IPPROTO_UDP && c == 0)
		c = 0xffff;
	zc_put16(l4p + coff, c);
	if (zc_netif_tx(n, &m, 1, clk) != 1) {
		fprintf(stderr, "capture_gen: tx refused\n");
		failures++;
	}
	frames++;
	clk += 10000;
}

/* Receive one frame on n and check it with our parsers (checksums verified). */
static void expect(struct zc_netif *n, uint16_t ethertype, uint8_t proto)
{
	struct zc_mbuf *m = NULL;
	for (int i = 0; i < 1000 && zc_netif_rx(n, &m, 1, clk) == 0; i++)
		;
	if (m == NULL) {
		fprintf(stderr, "capture_gen: frame missing\n");
		failures++;
		return;
	}
	uint8_t *b = malloc(m->pkt_len);
	zc_mbuf_copydata(m, 0, m->pkt_len, b);
	struct zc_eth e;
	struct zc_ipv4 ip;
	struct zc_drops d = { 0 };
	int bad = zc_eth_parse(b, m->pkt_len, &e, &d) || e.type != ethertype;
	if (!bad && ethertype == ZC_ETHERTYPE_IPV4) {
		size_t len = m->pkt_len - 14;
		bad = zc_ipv4_parse(b + 14, len, len, true, &ip, &d) || ip.proto != proto;
		const uint8_t *l4 = b + 14 + ip.hdr_len;
		size_t l4len = ip.total_len - ip.hdr_len;
		struct zc_udp u;
		struct zc_tcp t;
		struct zc_icmp ic;
		if (!bad && proto == ZC_IPPROTO_UDP)
			bad = zc_udp_parse(l4, l4len, ip.src, ip.dst, true, &u, &d);
		if (!bad && proto == ZC_IPPROTO_TCP)
			bad = zc_tcp_parse(l4, l4len, ip.src, ip.dst, true, &t, &d);
		if (!bad && proto == ZC_IPPROTO_ICMP)
			bad = zc_icmp_parse(l4, l4len, true, &ic, &d);
	}
	if (bad) {
		fprintf(stderr, "capture_gen: frame %d failed our own checks\n", frames);
		failures++;
	}
	free(b);
	zc_mbuf_free(m);
}

static void tcp_seg(struct zc_netif *n, const uint8_t *dmac, uint32_t src, uint32_t dst, uint16_t sp,
		    uint16_t dp, uint32_t seq, uint32_t ack, uint8_t flags, bool syn_opts, uint32_t plen,
		    bool linear)
{
	struct zc_tcp t = { .sport = sp, .dport = dp, .seq = seq, .ack = ack, .flags = flags, .win = 512 };
	t.opt.has_ts = true;
	t.opt.tsval = (uint32_t)(clk / 1000);
	t.opt.tsecr = (flags & ZC_TCP_ACK) ? (uint32_t)(clk / 1000) - 10 : 0;
	if (syn_opts) {
		t.win = 65535;
		t.opt.has_mss = true;
		t.opt.mss = 61440;
		t.opt.sack_ok = true;
		t.opt.has_wscale = true;
		t.opt.wscale = 7;
	}
	uint8_t h[60];
	size_t hl = zc_tcp_build(h, &t);
	ip_l4(n, dmac, src, dst, ZC_IPPROTO_TCP, h, (uint32_t)hl, plen, 'T', linear);
}

int main(void)
{
	char spec[64], name[32];
	snprintf(name, sizeof(name), "cap%d", (int)getpid());
	snprintf(spec, sizeof(spec), "trapeze:%s,port=0", name);
	struct zc_netif *a = zc_nic_open(spec);
	struct zc_trapeze_config c = { .name = name, .port = 1 };
	struct zc_netif *b = a ? zc_trapeze_open(&c) : NULL;
	if (a == NULL || b == NULL)
		return 2;

	/* ARP who-has B, and B's reply */
	uint8_t hdr[64], bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct zc_eth e = { .type = ZC_ETHERTYPE_ARP };
	memcpy(e.dst, bcast, 6);
	memcpy(e.src, a->mac, 6);
	zc_eth_build(hdr, &e);
	struct zc_arp arp = { .op = ZC_ARP_REQUEST, .spa = IP_A, .tpa = IP_B };
	memcpy(arp.sha, a->mac, 6);
	zc_arp_build(hdr + 14, &arp);
	struct zc_mbuf *m = packet(a, hdr, 42, 0, 0, false);
	zc_netif_tx(a, &m, 1, clk);
	frames++;
	expect(b, ZC_ETHERTYPE_ARP, 0);
	memcpy(e.dst, a->mac, 6);
	memcpy(e.src, b->mac, 6);
	zc_eth_build(hdr, &e);
	arp = (struct zc_arp){ .op = ZC_ARP_REPLY, .spa = IP_B, .tpa = IP_A };
	memcpy(arp.sha, b->mac, 6);
	memcpy(arp.tha, a->mac, 6);
	zc_arp_build(hdr + 14, &arp);
	m = packet(b, hdr, 42, 0, 0, false);
	zc_netif_tx(b, &m, 1, clk);
	frames++;
	expect(a, ZC_ETHERTYPE_ARP, 0);

	/* ICMP echo of 56 and 20000 bytes, and the replies */
	for (uint32_t sz = 56; sz <= 20000; sz += 19944) {
		uint8_t ic[8];
		struct zc_icmp q = { .type = ZC_ICMP_ECHO_REQUEST, .id = 7, .seq = (uint16_t)sz };
		zc_icmp_build(ic, &q, 0);
		ip_l4(a, b->mac, IP_A, IP_B, ZC_IPPROTO_ICMP, ic, 8, sz, 'P', false);
		expect(b, ZC_ETHERTYPE_IPV4, ZC_IPPROTO_ICMP);
		q.type = ZC_ICMP_ECHO_REPLY;
		zc_icmp_build(ic, &q, 0);
		ip_l4(b, a->mac, IP_B, IP_A, ZC_IPPROTO_ICMP, ic, 8, sz, 'P', false);
		expect(a, ZC_ETHERTYPE_IPV4, ZC_IPPROTO_ICMP);
	}

	/* UDP, both layouts, up to 15 pages of payload */
	const uint32_t sizes[] = { 0, 1, 1000, 4096, 4097, 30000, 61440, 65000 };
	for (int linear = 0; linear < 2; linear++)
		for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			uint8_t u[8];
			struct zc_udp uh = { .sport = 5000, .dport = 6000 };
			zc_udp_build(u, &uh, IP_A, IP_B, sizes[i], false);
			ip_l4(a, b->mac, IP_A, IP_B, ZC_IPPROTO_UDP, u, 8, sizes[i], (uint8_t)('a' + i), linear);
			expect(b, ZC_ETHERTYPE_IPV4, ZC_IPPROTO_UDP);
		}

	/* TCP: handshake, 8 data segments each acknowledged, FIN both ways */
	uint32_t x = 0xfffff000u, y = 1000; /* x wraps around 2^32 mid-stream */
	tcp_seg(a, b->mac, IP_A, IP_B, 40000, 80, x, 0, ZC_TCP_SYN, true, 0, false);
	expect(b, ZC_ETHERTYPE_IPV4, ZC_IPPROTO_TCP);
	tcp_seg(b, a->mac, IP_B, IP_A, 80, 40000, y, x + 1, ZC_TCP_SYN | ZC_TCP_ACK, true, 0, false);
	expect(a, ZC_ETHERTYPE_IPV4, ZC_IPPROTO_TCP);
	x++;
	y++;
	tcp_seg(a, b->mac, IP_A, IP_B, 40000, 80, x, y, ZC_TCP_ACK, false, 0, false);
	expect(b, ZC_ETHERTYPE_IPV4, ZC_IPPROTO_TCP);
	for (int i = 0; i < 8; i++) {
		uint32_t len = i % 2 ? 61440 : 4096 * (uint32_t)(i + 1);
		tcp_seg(a, b->mac, IP_A, IP_B, 40000, 80, x, y, ZC_TCP_ACK | ZC_TCP_PSH, false, len, i % 4 == 3);
		expect(b, ZC_ETHERTYPE_IPV4, ZC_IPPROTO_TCP);
		x += len;
		tcp_seg(b, a->mac, IP_B, IP_A, 80, 40000, y, x, ZC_TCP_ACK, false, 0, false);
		expect(a, ZC_ETHERTYPE_IPV4, ZC_IPPROTO_TCP);
	}
	tcp_seg(a, b->mac, IP_A, IP_B, 40000, 80, x, y, ZC_TCP_FIN | ZC_TCP_ACK, false, 0, false);
	expect(b, ZC_ETHERTYPE_IPV4, ZC_IPPROTO_TCP);
	tcp_seg(b, a->mac, IP_B, IP_A, 80, 40000, y, x + 1, ZC_TCP_FIN | ZC_TCP_ACK, false, 0, false);
	expect(a, ZC_ETHERTYPE_IPV4, ZC_IPPROTO_TCP);
	tcp_seg(a, b->mac, IP_A, IP_B, 40000, 80, x + 1, y + 1, ZC_TCP_ACK, false, 0, false);
	expect(b, ZC_ETHERTYPE_IPV4, ZC_IPPROTO_TCP);

	zc_netif_close(b);
	zc_netif_close(a);
	printf("%d\n", frames);
	return failures ? 1 : 0;
}
