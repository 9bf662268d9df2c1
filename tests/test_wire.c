/* test_wire.c - wire formats against frames written by scapy (an independent
 * implementation): parsed fields equal scapy's, our builders reproduce
 * scapy's bytes, each malformed frame is dropped under its own reason, and
 * truncations and bit flips of every frame are read within bounds (run it
 * under ASan: each frame sits in a buffer of exactly its size). */
#include "stack/wire.h"
#include "stack/rng.h"

#include <pcap/pcap.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static const char *datadir = "tests/data";

struct frame {
	uint8_t *b;
	size_t len;
};

static int load_pcap(const char *name, struct frame *out, int max)
{
	char path[512], err[PCAP_ERRBUF_SIZE];
	snprintf(path, sizeof(path), "%s/%s", datadir, name);
	pcap_t *p = pcap_open_offline(path, err);
	if (p == NULL)
		fail_msg("cannot open %s: %s", path, err);
	struct pcap_pkthdr *h;
	const u_char *d;
	int n = 0;
	while (n < max && pcap_next_ex(p, &h, &d) == 1) {
		out[n].b = malloc(h->caplen ? h->caplen : 1);
		memcpy(out[n].b, d, h->caplen);
		out[n].len = h->caplen;
		n++;
	}
	pcap_close(p);
	return n;
}

/* Open a text file of the test data (the expectations beside a pcap). */
static FILE *open_data(const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", datadir, name);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	return f;
}

static void free_frames(struct frame *fr, int n)
{
	for (int i = 0; i < n; i++)
		free(fr[i].b);
}

static uint64_t drop_total(const struct zc_drops *d)
{
	uint64_t t = 0;
	for (int k = 0; k < ZC_DROP__COUNT; k++)
		t += d->n[k];
	return t;
}

struct dissect {
	const char *proto;
	struct zc_eth eth;
	struct zc_arp arp;
	struct zc_ipv4 ip;
	struct zc_icmp icmp;
	struct zc_udp udp;
	struct zc_tcp tcp;
};

/* Climb the layers as the stack's input path will: first drop reason wins. */
static enum zc_drop_reason dissect(const uint8_t *p, size_t len, struct dissect *d, struct zc_drops *dr)
{
	memset(d, 0, sizeof(*d));
	enum zc_drop_reason r = zc_eth_parse(p, len, &d->eth, dr);
	if (r)
		return r;
	p += ZC_ETH_HLEN;
	len -= ZC_ETH_HLEN;
	if (d->eth.type == ZC_ETHERTYPE_ARP) {
		d->proto = "arp";
		return zc_arp_parse(p, len, &d->arp, dr);
	}
	if (d->eth.type != ZC_ETHERTYPE_IPV4)
		return ZC_DROP_NONE;
	r = zc_ipv4_parse(p, len, len, true, &d->ip, dr);
	if (r)
		return r;
	const uint8_t *l4 = p + d->ip.hdr_len;
	size_t l4len = d->ip.total_len - d->ip.hdr_len;
	switch (d->ip.proto) {
	case ZC_IPPROTO_ICMP:
		d->proto = "icmp";
		return zc_icmp_parse(l4, l4len, true, &d->icmp, dr);
	case ZC_IPPROTO_UDP:
		d->proto = "udp";
		return zc_udp_parse(l4, l4len, d->ip.src, d->ip.dst, true, &d->udp, dr);
	case ZC_IPPROTO_TCP:
		d->proto = "tcp";
		return zc_tcp_parse(l4, l4len, d->ip.src, d->ip.dst, true, &d->tcp, dr);
	}
	return ZC_DROP_NONE;
}

static uint64_t field(const struct dissect *d, const char *k, char *text, size_t tl)
{
	text[0] = '\0';
#define F(name, expr) if (strcmp(k, name) == 0) return (uint64_t)(expr)
	F("op", d->arp.op); F("spa", d->arp.spa); F("tpa", d->arp.tpa);
	F("ihl", d->ip.hdr_len); F("tl", d->ip.total_len); F("id", d->ip.id); F("ttl", d->ip.ttl);
	F("proto", d->ip.proto); F("src", d->ip.src); F("dst", d->ip.dst); F("df", d->ip.df);
	F("type", d->icmp.type); F("code", d->icmp.code); F("icmp_id", d->icmp.id);
	F("icmp_seq", d->icmp.seq);
	F("ulen", d->udp.len); F("csum", d->udp.csum != 0);
	F("seq", d->tcp.seq); F("ack", d->tcp.ack); F("hl", d->tcp.hdr_len); F("flags", d->tcp.flags);
	F("win", d->tcp.win); F("mss", d->tcp.opt.mss); F("ws", d->tcp.opt.wscale);
	F("sackok", d->tcp.opt.sack_ok); F("tsval", d->tcp.opt.tsval); F("tsecr", d->tcp.opt.tsecr);
	F("nsack", d->tcp.opt.nsack);
#undef F
	if (strcmp(k, "sport") == 0)
		return strcmp(d->proto, "udp") == 0 ? d->udp.sport : d->tcp.sport;
	if (strcmp(k, "dport") == 0)
		return strcmp(d->proto, "udp") == 0 ? d->udp.dport : d->tcp.dport;
	if (strncmp(k, "sack", 4) == 0 && k[4] >= '0' && k[4] <= '3') {
		int i = k[4] - '0';
		snprintf(text, tl, "%u:%u", d->tcp.opt.sack[i].left, d->tcp.opt.sack[i].right);
		return 0;
	}
	if (strcmp(k, "sha") == 0) {
		const uint8_t *m = d->arp.sha;
		snprintf(text, tl, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
		return 0;
	}
	fail_msg("unknown key %s in vectors.txt", k);
	return 0;
}

static void test_vectors_from_scapy(void **state)
{
	(void)state;
	struct frame fr[32];
	int n = load_pcap("vectors.pcap", fr, 32);
	char line[1024];
	FILE *f = open_data("vectors.txt");
	int checked = 0, fields = 0;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		char *save = NULL;
		int idx = atoi(strtok_r(line, " \n", &save));
		const char *proto = strtok_r(NULL, " \n", &save);
		assert_true(idx < n);
		struct dissect d;
		struct zc_drops dr = { 0 };
		assert_int_equal(dissect(fr[idx].b, fr[idx].len, &d, &dr), ZC_DROP_NONE);
		assert_string_equal(d.proto, proto);
		for (char *kv = strtok_r(NULL, " \n", &save); kv; kv = strtok_r(NULL, " \n", &save)) {
			char *eq = strchr(kv, '=');
			*eq = '\0';
			char text[64];
			uint64_t got = field(&d, kv, text, sizeof(text));
			if (text[0]) {
				if (strcmp(text, eq + 1) != 0)
					fail_msg("frame %d: %s=%s, scapy says %s", idx, kv, text, eq + 1);
			} else if (got != strtoull(eq + 1, NULL, 10)) {
				fail_msg("frame %d: %s=%llu, scapy says %s", idx, kv, (unsigned long long)got, eq + 1);
			}
			fields++;
		}
		checked++;
	}
	fclose(f);
	assert_int_equal(checked, n);
	assert_true(fields > 100);
	free_frames(fr, n);
}

/* Our builders, fed the parsed fields, reproduce scapy's bytes exactly. */
static void test_builders_match_scapy(void **state)
{
	(void)state;
	struct frame fr[32];
	int n = load_pcap("vectors.pcap", fr, 32);
	assert_true(n >= 10);
	uint8_t out[2048];
	struct dissect d;
	/* 0: ARP request */
	dissect(fr[0].b, fr[0].len, &d, NULL);
	zc_eth_build(out, &d.eth);
	zc_arp_build(out + 14, &d.arp);
	assert_memory_equal(out, fr[0].b, 42);
	/* 2: ICMP echo request with 56 bytes of data */
	dissect(fr[2].b, fr[2].len, &d, NULL);
	memset(out, 0, sizeof(out));
	zc_eth_build(out, &d.eth);
	zc_ipv4_build(out + 14, &d.ip);
	size_t dl = d.ip.total_len - 20 - 8;
	memcpy(out + 14 + 20 + 8, fr[2].b + 14 + 20 + 8, dl);
	zc_icmp_build(out + 34, &d.icmp, dl);
	assert_memory_equal(out, fr[2].b, fr[2].len);
	/* 3: UDP with checksum */
	dissect(fr[3].b, fr[3].len, &d, NULL);
	zc_eth_build(out, &d.eth);
	zc_ipv4_build(out + 14, &d.ip);
	dl = d.udp.len - 8;
	memcpy(out + 42, fr[3].b + 42, dl);
	zc_udp_build(out + 34, &d.udp, d.ip.src, d.ip.dst, dl, true);
	assert_memory_equal(out, fr[3].b, fr[3].len);
	/* 9: TCP with data, no options */
	dissect(fr[9].b, fr[9].len, &d, NULL);
	zc_eth_build(out, &d.eth);
	zc_ipv4_build(out + 14, &d.ip);
	size_t hl = zc_tcp_build(out + 34, &d.tcp);
	assert_int_equal(hl, 20);
	dl = d.ip.total_len - 40;
	memcpy(out + 54, fr[9].b + 54, dl);
	zc_l4_set_csum(out + 34, 20 + dl, ZC_IPPROTO_TCP, d.ip.src, d.ip.dst);
	assert_memory_equal(out, fr[9].b, fr[9].len);
	free_frames(fr, n);
}

/* Options we build parse back to the same values, with a valid checksum. */
static void test_tcp_options_roundtrip(void **state)
{
	(void)state;
	struct zc_tcp t = { .sport = 1234, .dport = 80, .seq = 0xfffffffe, .ack = 7,
			    .flags = ZC_TCP_SYN | ZC_TCP_ACK, .win = 29200 };
	t.opt = (struct zc_tcp_opts){ .has_mss = true, .mss = 65495, .sack_ok = true, .has_ts = true,
				      .tsval = 0xdeadbeef, .tsecr = 42, .has_wscale = true, .wscale = 9 };
	uint8_t seg[60 + 5];
	size_t hl = zc_tcp_build(seg, &t);
	assert_int_equal(hl % 4, 0);
	memcpy(seg + hl, "hello", 5);
	zc_l4_set_csum(seg, hl + 5, ZC_IPPROTO_TCP, 1, 2);
	struct zc_tcp p;
	assert_int_equal(zc_tcp_parse(seg, hl + 5, 1, 2, true, &p, NULL), ZC_DROP_NONE);
	assert_int_equal(p.hdr_len, hl);
	assert_int_equal(p.seq, t.seq);
	assert_true(p.opt.has_mss && p.opt.mss == 65495);
	assert_true(p.opt.sack_ok && p.opt.has_ts && p.opt.tsval == 0xdeadbeef && p.opt.tsecr == 42);
	assert_true(p.opt.has_wscale && p.opt.wscale == 9);
	/* SACK blocks alone: 4 fit with nothing else */
	struct zc_tcp s = { .flags = ZC_TCP_ACK };
	s.opt.nsack = 4;
	for (int i = 0; i < 4; i++)
		s.opt.sack[i] = (struct zc_tcp_sack_block){ 100u * i, 100u * i + 50 };
	hl = zc_tcp_build(seg, &s);
	assert_int_equal(hl, 20 + 36);
	assert_int_equal(zc_tcp_parse(seg, hl, 1, 2, false, &p, NULL), ZC_DROP_NONE);
	assert_int_equal(p.opt.nsack, 4);
	assert_int_equal(p.opt.sack[3].right, 350);
	/* 4 SACK blocks and timestamps do not fit in 40 option bytes */
	s.opt.has_ts = true;
	assert_int_equal(zc_tcp_build(seg, &s), 0);
}

static void test_malformed_each_reason(void **state)
{
	(void)state;
	struct frame fr[64];
	int n = load_pcap("malformed.pcap", fr, 64);
	char line[256];
	FILE *f = open_data("malformed.txt");
	struct zc_drops all = { 0 };
	int checked = 0;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		int idx;
		char reason[64];
		assert_int_equal(sscanf(line, "%d %63s", &idx, reason), 2);
		assert_true(idx < n);
		struct zc_drops dr = { 0 };
		struct dissect d;
		enum zc_drop_reason r = dissect(fr[idx].b, fr[idx].len, &d, &dr);
		if (strcmp(zc_drop_name(r), reason) != 0)
			fail_msg("malformed frame %d: got %s, want %s", idx, zc_drop_name(r), reason);
		/* counted exactly once, under that name */
		assert_int_equal(drop_total(&dr), 1);
		for (int i = 0; i < ZC_DROP__COUNT; i++)
			all.n[i] += dr.n[i];
		assert_int_equal(dr.n[zc_drop_by_name(reason)], 1);
		checked++;
	}
	fclose(f);
	assert_int_equal(checked, n);
	/* the corpus covers every reason a parser can give */
	for (int i = 1; i < ZC_DROP__PARSER_END; i++)
		if (all.n[i] == 0)
			fail_msg("no malformed vector for %s", zc_drop_name((enum zc_drop_reason)i));
	free_frames(fr, n);
}

/* Every prefix and many bit flips of every frame: no out-of-bounds read
 * (ASan), and a drop is always counted when the parse fails. */
static void test_truncations_and_flips(void **state)
{
	(void)state;
	struct frame fr[96];
	int n = load_pcap("vectors.pcap", fr, 48);
	n += load_pcap("malformed.pcap", fr + n, 48);
	struct zc_rng rng;
	zc_rng_seed(&rng, 99);
	uint64_t parsed = 0, dropped = 0;
	for (int i = 0; i < n; i++) {
		for (size_t len = 0; len <= fr[i].len; len++) {
			uint8_t *b = malloc(len ? len : 1);
			memcpy(b, fr[i].b, len);
			for (int flip = 0; flip < 4; flip++) {
				if (flip && len)
					b[zc_rng_below(&rng, len)] ^= (uint8_t)(1u << zc_rng_below(&rng, 8));
				struct zc_drops dr = { 0 };
				struct dissect d;
				enum zc_drop_reason r = dissect(b, len, &d, &dr);
				assert_int_equal(drop_total(&dr), r ? 1 : 0);
				if (r)
					dropped++;
				else
					parsed++;
			}
			free(b);
		}
	}
	assert_true(parsed > 0 && dropped > 0);
	free_frames(fr, n);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		datadir = argv[1];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_from_scapy),
		cmocka_unit_test(test_builders_match_scapy),
		cmocka_unit_test(test_tcp_options_roundtrip),
		cmocka_unit_test(test_malformed_each_reason),
		cmocka_unit_test(test_truncations_and_flips),
	};
	return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
