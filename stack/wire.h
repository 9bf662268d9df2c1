/*
 * wire.h - Ethernet, ARP, IPv4, ICMP, UDP and TCP wire formats.
 *
 * Each parser checks the length once, before it reads a field, then fills a
 * plain struct in host byte order; it returns 0, or the drop reason (counted
 * in the caller's struct zc_drops, which may be NULL) and leaves the struct
 * unspecified. Builders write a header into a buffer the caller sized and
 * return its length. Addresses are host-order uint32_t; MACs are 6 bytes.
 */
#ifndef ZC_WIRE_H
#define ZC_WIRE_H

#include "stack/checksum.h"
#include "stack/drop.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZC_ETH_HLEN 14u
#define ZC_ETHERTYPE_IPV4 0x0800u
#define ZC_ETHERTYPE_ARP 0x0806u
#define ZC_ETHERTYPE_TEST 0x88b5u /* IEEE local experimental: raw test frames */

struct zc_eth {
	uint8_t dst[6];
	uint8_t src[6];
	uint16_t type;
};
enum zc_drop_reason zc_eth_parse(const uint8_t *p, size_t len, struct zc_eth *e, struct zc_drops *d);
size_t zc_eth_build(uint8_t *p, const struct zc_eth *e); /* 14 bytes */

/* --- Ethernet: sizes and address bits, for the stack's ether.c and arp.c --- */
#define ZC_ETH_VLAN_TAG_LEN 4u /* an 802.1Q tag: a frame may be this much past MTU + header */
#define ZC_ETH_MIN_PAYLOAD 46u /* the 60-byte minimum frame (64 with the FCS) less the header */
/* The I/G bit: a group (multicast or broadcast) address (IEEE 802, 8.2). */
static inline bool zc_eth_is_multicast(const uint8_t mac[6]) { return (mac[0] & 1u) != 0; }

#define ZC_ARP_LEN 28u
#define ZC_ARP_REQUEST 1u
#define ZC_ARP_REPLY 2u
struct zc_arp {
	uint16_t op;
	uint8_t sha[6];
	uint32_t spa;
	uint8_t tha[6];
	uint32_t tpa;
};
enum zc_drop_reason zc_arp_parse(const uint8_t *p, size_t len, struct zc_arp *a, struct zc_drops *d);
size_t zc_arp_build(uint8_t *p, const struct zc_arp *a); /* 28 bytes */

#define ZC_IPV4_HLEN 20u
#define ZC_IPPROTO_ICMP 1u
#define ZC_IPPROTO_TCP 6u
#define ZC_IPPROTO_UDP 17u
/* the ECN field, the TOS byte's low 2 bits (RFC 3168 5) */
#define ZC_IP_ECN_MASK 3u
#define ZC_IP_ECN_ECT0 2u
#define ZC_IP_ECN_CE 3u
struct zc_ipv4 {
	uint8_t hdr_len;   /* bytes, 20..60 */
	uint8_t tos;
	uint16_t total_len;
	uint16_t id;
	bool df, mf;
	uint16_t frag_off; /* in 8-byte units */
	uint8_t ttl;
	uint8_t proto;
	uint16_t csum;
	uint32_t src, dst;
};
/* contig: header bytes readable at p; total: bytes of the frame from p on.
 * verify_csum false when the NIC has checked the header checksum. Options are
 * walked (a malformed option drops the packet) and otherwise skipped;
 * a fragment that cannot be part of a datagram is dropped (ip_bad_fragment). */
enum zc_drop_reason zc_ipv4_parse(const uint8_t *p, size_t contig, size_t total, bool verify_csum,
				  struct zc_ipv4 *ip, struct zc_drops *d);
/* Writes a 20-byte header (no options) with its checksum; hdr_len is ignored. */
size_t zc_ipv4_build(uint8_t *p, const struct zc_ipv4 *ip);

/* --- IPv4: a header in place, and address classes -------------------------
 * The header length (bytes) that the IHL of the header at p claims, for a
 * receiver that gathers the whole header before it parses it; 0 when no
 * byte is readable (len 0). Unchecked beyond that: zc_ipv4_parse judges it. */
static inline size_t zc_ipv4_peek_hdr_len(const uint8_t *p, size_t len)
{
	return len >= 1 ? (size_t)(p[0] & 0xfu) * 4 : 0;
}
#define ZC_IPV4_BROADCAST 0xffffffffu /* 255.255.255.255, the limited broadcast */
/* 224.0.0.0/4, class D (RFC 5771) */
static inline bool zc_ipv4_is_multicast(uint32_t ip) { return (ip >> 28) == 0xeu; }
/* 240.0.0.0/4, class E (RFC 1112 4), and with it the limited broadcast */
static inline bool zc_ipv4_is_reserved(uint32_t ip) { return (ip >> 28) == 0xfu; }
/* 127.0.0.0/8 (RFC 1122 3.2.1.3) */
static inline bool zc_ipv4_is_loopback(uint32_t ip) { return (ip >> 24) == 127u; }

#define ZC_ICMP_HLEN 8u
#define ZC_ICMP_ECHO_REPLY 0u
#define ZC_ICMP_UNREACH 3u
#define ZC_ICMP_ECHO_REQUEST 8u
struct zc_icmp {
	uint8_t type, code;
	uint16_t csum;
	uint16_t id, seq; /* echo; otherwise the raw "rest of header" halves */
};
/* len: the ICMP message (header + data); the checksum covers all of it. */
enum zc_drop_reason zc_icmp_parse(const uint8_t *p, size_t len, bool verify_csum, struct zc_icmp *ic,
				  struct zc_drops *d);
/* Writes the 8-byte header; the checksum covers it and data[0..dlen) which the
 * caller has placed right after it (p + 8). */
size_t zc_icmp_build(uint8_t *p, const struct zc_icmp *ic, size_t dlen);

/* --- ICMP: a message in place, for the stack's icmp.c ---------------------- */
#define ZC_ICMP_UNREACH_PROTO 2u /* destination unreachable codes (RFC 792) */
#define ZC_ICMP_UNREACH_PORT 3u
#define ZC_ICMP_UNREACH_NEEDFRAG 4u /* "fragmentation needed and DF set" (RFC 1191: next-hop MTU in seq) */
#define ZC_ICMP_TIME_EXCEEDED 11u
#define ZC_ICMP_TIMEX_REASS 1u /* time exceeded: "fragment reassembly time exceeded" */
/* What an ICMP error quotes (RFC 792: the IP header and 64 bits of data):
 * addresses, protocol, ports and, for TCP, the sequence number. */
struct zc_icmp_quote {
	uint32_t src, dst;
	uint8_t proto;
	uint16_t sport, dport;
	uint32_t seq;
};
#define ZC_ICMP_QUOTE_MAX (60u + 8u)
/* q[0..n): the quote. false when it is short or not IPv4. */
bool zc_icmp_quote_parse(const uint8_t *q, size_t n, struct zc_icmp_quote *out);
/* The type of the message at p, or -1 when no byte is readable (len 0). */
static inline int zc_icmp_peek_type(const uint8_t *p, size_t len) { return len >= 1 ? p[0] : -1; }
/* Write the checksum field of the message at p. */
static inline void zc_icmp_put_csum(uint8_t *p, uint16_t c) { zc_put16(p + 2, c); }
/* Change the type of the message at p (header readable) in place and
 * update its checksum for the change (RFC 1624): an echo request becomes
 * its reply without summing the data again. */
void zc_icmp_set_type(uint8_t *p, uint8_t type);

#define ZC_UDP_HLEN 8u
struct zc_udp {
	uint16_t sport, dport;
	uint16_t len; /* header + data, from the header */
	uint16_t csum;
};
/* len: bytes of the IP payload. A zero checksum means "none" (RFC 768). */
enum zc_drop_reason zc_udp_parse(const uint8_t *p, size_t len, uint32_t src, uint32_t dst,
				 bool verify_csum, struct zc_udp *u, struct zc_drops *d);
/* Writes the header with len = 8 + dlen and the checksum over p[0..8+dlen). */
size_t zc_udp_build(uint8_t *p, const struct zc_udp *u, uint32_t src, uint32_t dst, size_t dlen,
		    bool with_csum);

/* --- UDP: a header in place, for the stack's udp.c ------------------------ */
/* Write the checksum field of the header at p (0: none, RFC 768). */
static inline void zc_udp_put_csum(uint8_t *p, uint16_t c) { zc_put16(p + 6, c); }

#define ZC_TCP_HLEN 20u
#define ZC_TCP_MAXHLEN 60u
#define ZC_TCP_FIN 0x01u
#define ZC_TCP_SYN 0x02u
#define ZC_TCP_RST 0x04u
#define ZC_TCP_PSH 0x08u
#define ZC_TCP_ACK 0x10u
#define ZC_TCP_URG 0x20u
#define ZC_TCP_ECE 0x40u
#define ZC_TCP_CWR 0x80u
#define ZC_TCPOPT_EOL 0u
#define ZC_TCPOPT_NOP 1u
#define ZC_TCPOPT_MSS 2u
#define ZC_TCPOPT_WSCALE 3u
#define ZC_TCPOPT_SACK_OK 4u
#define ZC_TCPOPT_SACK 5u
#define ZC_TCPOPT_TS 8u
#define ZC_TCP_MAX_WSCALE 14u
struct zc_tcp_sack_block {
	uint32_t left, right;
};
struct zc_tcp_opts {
	bool has_mss, has_wscale, sack_ok, has_ts;
	uint16_t mss;
	uint8_t wscale;   /* clamped to 14 (RFC 7323, 2.3) */
	uint8_t nsack;    /* 0..4 blocks */
	uint32_t tsval, tsecr;
	struct zc_tcp_sack_block sack[4];
};
struct zc_tcp {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t hdr_len; /* bytes, 20..60 */
	uint8_t flags;   /* ZC_TCP_* */
	uint16_t win;
	uint16_t csum;
	uint16_t urg;
	struct zc_tcp_opts opt;
};
/* len: bytes of the IP payload (header + data), readable at p. */
enum zc_drop_reason zc_tcp_parse(const uint8_t *p, size_t len, uint32_t src, uint32_t dst,
				 bool verify_csum, struct zc_tcp *t, struct zc_drops *d);
/* Only the header and options: for segments whose data is not contiguous;
 * the checksum is left to the caller (zc_csum_mbuf). */
enum zc_drop_reason zc_tcp_parse_header(const uint8_t *p, size_t contig, size_t len, struct zc_tcp *t,
					struct zc_drops *d);
/* Writes header and options (the ones flagged in t->opt; padded to 4 bytes)
 * with checksum 0; returns the header length (<= 60), or 0 when the options
 * do not fit. */
size_t zc_tcp_build(uint8_t *p, const struct zc_tcp *t);

/* --- TCP header fields in place, for the stack's TCP (tcp_input.c,
 * tcp_output.c) so that it reads and writes no header byte by offset ---- */
/* The header's length in bytes from its data offset (RFC 9293 3.1), or 0
 * when the data offset is not among the len bytes readable at p. Checked
 * against nothing else: zc_tcp_parse_header does that. */
size_t zc_tcp_peek_hdr_len(const uint8_t *p, size_t len);
/* Writes the checksum field of the header at p. */
void zc_tcp_put_csum(uint8_t *p, uint16_t csum);
/* What options cost a segment, as zc_tcp_build lays them out. */
#define ZC_TCP_MAXOPTLEN (ZC_TCP_MAXHLEN - ZC_TCP_HLEN) /* 40 */
#define ZC_TCPOLEN_TS_ALIGNED 12u  /* NOP, NOP, timestamps (10) */
#define ZC_TCPOLEN_SACK_BASE 4u    /* NOP, NOP, kind, length: before the blocks */
#define ZC_TCPOLEN_SACK_BLOCK 8u   /* left and right edge */
/* --- end of the TCP accessors ------------------------------------------- */

/* Fill the checksum of a TCP or UDP segment that lies contiguous at p. */
void zc_l4_set_csum(uint8_t *p, size_t len, uint8_t proto, uint32_t src, uint32_t dst);

/* --- read by drivers ----------------------------------------------------------
 * A NIC's look at the headers of an Ethernet + IPv4 frame it carries, without
 * parsing them (the stack's parsers above check everything else): where the
 * headers end (header split), where the L4 checksum field is (checksum
 * offload) and a TCP segment's flow (receive placement). Offsets count from
 * the frame's first byte. Those that run for every packet are inline. */

/* The headers of a frame whose first avail bytes are readable. */
struct zc_hdr_peek {
	uint32_t l4;       /* offset of the L4 header: 14 + IHL * 4 (0: not IPv4) */
	uint32_t hdr_len;  /* Ethernet, IPv4 and L4 header bytes as far as known (14: not IPv4) */
	uint32_t csum_off; /* offset of the TCP or UDP checksum field; 0: none, or not within avail */
	uint8_t proto;     /* the IPv4 protocol (0: not IPv4) */
};
#define ZC_L4_CSUM_LEN 2u /* bytes of the TCP and UDP checksum fields */

/* Fill pk; true when the frame is IPv4 (ethertype and version). The IHL and
 * data offset are taken as they are (a bad one is the parser's to refuse);
 * a TCP header's length is known when its data offset is within avail. */
static inline bool zc_hdr_peek(const uint8_t *f, size_t avail, struct zc_hdr_peek *pk)
{
	pk->l4 = 0;
	pk->hdr_len = ZC_ETH_HLEN;
	pk->csum_off = 0;
	pk->proto = 0;
	if (avail < ZC_ETH_HLEN + ZC_IPV4_HLEN || zc_get16(f + 12) != ZC_ETHERTYPE_IPV4 || /* type */
	    (f[ZC_ETH_HLEN] >> 4) != 4) /* version */
		return false;
	const uint8_t *ip = f + ZC_ETH_HLEN;
	uint32_t l4 = ZC_ETH_HLEN + (uint32_t)(ip[0] & 0xf) * 4; /* IHL, in 32-bit words */
	uint8_t proto = ip[9];
	pk->l4 = l4;
	pk->proto = proto;
	pk->hdr_len = l4;
	if (proto == ZC_IPPROTO_TCP && avail >= l4 + 13) /* through the data offset byte */
		pk->hdr_len = l4 + (uint32_t)(f[l4 + 12] >> 4) * 4;
	else if (proto == ZC_IPPROTO_UDP || proto == ZC_IPPROTO_ICMP)
		pk->hdr_len = l4 + (proto == ZC_IPPROTO_UDP ? ZC_UDP_HLEN : ZC_ICMP_HLEN);
	uint32_t field = proto == ZC_IPPROTO_TCP ? 16 : proto == ZC_IPPROTO_UDP ? 6 : 0; /* checksum */
	if (field && l4 + field + ZC_L4_CSUM_LEN <= avail)
		pk->csum_off = l4 + field;
	return true;
}

/* True when pk has a checksum field and it lies within the first len bytes. */
static inline bool zc_hdr_csum_within(const struct zc_hdr_peek *pk, size_t len)
{
	return pk->csum_off && pk->csum_off + ZC_L4_CSUM_LEN <= len;
}

/* Finish an offloaded TCP or UDP checksum (pk->csum_off set): the headers
 * are f[0..len) with the pseudo-header sum in the field; payload_sum is the
 * sum of the bytes that follow them, which start at an even or odd offset of
 * the L4 region. */
static inline void zc_l4_csum_finish(uint8_t *f, uint32_t len, const struct zc_hdr_peek *pk,
				     uint32_t payload_sum)
{
	uint32_t sum = zc_csum_add(0, f + pk->l4, len - pk->l4);
	if ((len - pk->l4) & 1)
		payload_sum = zc_csum_swap(payload_sum);
	uint16_t c = zc_csum_fold(sum + payload_sum);
	if (c == 0 && pk->proto == ZC_IPPROTO_UDP)
		c = 0xffff; /* UDP: zero means "no checksum" (RFC 768) */
	zc_put16(f + pk->csum_off, c);
}

/* Verify a TCP or UDP checksum the sender computed (pk->csum_off set): the
 * headers are f[0..len) of a packet of pkt_len bytes, payload_sum the sum of
 * the bytes after them. False also when the IPv4 total length does not match
 * pkt_len. */
bool zc_l4_csum_check(const uint8_t *f, uint32_t len, uint32_t pkt_len, const struct zc_hdr_peek *pk,
		      uint32_t payload_sum);

/* A TCP segment's flow, sequence number and flags (ZC_TCP_*). */
struct zc_tcp_flow_peek {
	uint32_t saddr, daddr;
	uint16_t sport, dport;
	uint32_t seq;
	uint8_t flags;
};
/* Fill k; false when the frame (len bytes readable) is not IPv4 TCP with a
 * whole fixed TCP header. */
static inline bool zc_tcp_flow_peek(const uint8_t *f, size_t len, struct zc_tcp_flow_peek *k)
{
	struct zc_hdr_peek pk;
	if (!zc_hdr_peek(f, len, &pk) || pk.proto != ZC_IPPROTO_TCP || pk.l4 + ZC_TCP_HLEN > len)
		return false;
	const uint8_t *ip = f + ZC_ETH_HLEN, *tcp = f + pk.l4;
	k->saddr = zc_get32(ip + 12);
	k->daddr = zc_get32(ip + 16);
	k->sport = zc_get16(tcp);
	k->dport = zc_get16(tcp + 2);
	k->seq = zc_get32(tcp + 4);
	k->flags = tcp[13];
	return true;
}

#endif
